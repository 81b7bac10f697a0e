"""The certificate PDF against reportlab, in one run: the median time of a download from the registry
(`GET /api/v1/certificates/{number}/pdf`, one keep-alive connection, bearer token) against the median
time reportlab needs to draw a comparable certificate in this process.

Comparable: the same page (A4), the same text at the same places and sizes (read from the registry's own
PDF with `pdftotext -bbox-layout`, one drawString per line), in DejaVu Sans embedded as a subset (reportlab
subsets TTF fonts itself), the same QR link drawn by segno's matrix as one filled square per dark module,
the same frame and rules, compressed. reportlab's C accelerator (rl_accel) is used when installed.

Usage: python3 benches/pdf_vs_reportlab.py BASE_URL TOKEN NUMBER [runs, default 200 | each]
"""

import http.client
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

import segno
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

try:
    import _rl_accel  # noqa: F401

    ACCEL = "with rl_accel"
except ImportError:
    ACCEL = "WITHOUT rl_accel"

base, token, number = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "each" else 200
url = urllib.parse.urlsplit(base)
path = f"/api/v1/certificates/{number}/pdf"


def download(conn):
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or not body.startswith(b"%PDF-"):
        sys.exit(f"GET {path}: {r.status} {body[:200]!r}")
    return body


conn = http.client.HTTPConnection(url.hostname, url.port)
if len(sys.argv) > 4 and sys.argv[4] == "each":
    # The first download of each of many certificates from a running server (one connection, warmed by one
    # download of NUMBER first): numbers from the public register, NUMBER left out. Prints median, min and
    # max in milliseconds and how many.
    download(conn)
    numbers, before = [], ""
    while True:
        conn.request("GET", f"/api/v1/public/certificates?limit=100{before}")
        page = json.loads(conn.getresponse().read())
        numbers += [c["number"] for c in page["items"] if c["number"] != number]
        if not page.get("next_before"):
            break
        before = f"&before={page['next_before']}"
    times = []
    for n in numbers:
        p = f"/api/v1/certificates/{n}/pdf"
        t = time.perf_counter()
        conn.request("GET", p, headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t) * 1000)
        if r.status != 200 or not body.startswith(b"%PDF-"):
            sys.exit(f"GET {p}: {r.status} {body[:200]!r}")
    print(f"median {statistics.median(times):5.2f} ms (min {min(times):.2f}, max {max(times):.2f}, {len(times)} certificates)")
    sys.exit(0)
ours = download(conn)
conn.request("GET", f"/certificates/{number}", headers={"Accept": "application/json"})
link = json.loads(conn.getresponse().read())["verification_url"]

# The lines of the registry's certificate, with their boxes (points from the top left).
with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
    f.write(ours)
    f.flush()
    html = subprocess.run(["pdftotext", "-bbox-layout", f.name, "-"], capture_output=True, check=True, text=True).stdout
ns = {"x": "http://www.w3.org/1999/xhtml"}
root = ET.fromstring(html)
lines = []
for line in root.iter("{http://www.w3.org/1999/xhtml}line"):
    words = [w.text or "" for w in line.findall("x:word", ns)]
    x0, y0, y1 = float(line.get("xMin")), float(line.get("yMin")), float(line.get("yMax"))
    lines.append((" ".join(words), x0, y0, y1))

pdfmetrics.registerFont(TTFont("DejaVuSans", "assets/fonts/DejaVuSans.ttf"))
pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", "assets/fonts/DejaVuSans-Bold.ttf"))
qr = segno.make(link, error="m")
matrix = [list(row) for row in qr.matrix]
W, H = A4
MM = 72 / 25.4


def draw():
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle(f"Gold eco-label certificate {number}")
    c.setStrokeColorRGB(0.72, 0.56, 0.13)
    c.setLineWidth(2 * MM)
    c.rect(8 * MM, 8 * MM, W - 16 * MM, H - 16 * MM)
    c.setStrokeColorRGB(0.1, 0.45, 0.25)
    c.setLineWidth(0.6 * MM)
    c.rect(11 * MM, 11 * MM, W - 22 * MM, H - 22 * MM)
    for i, (text, x0, y0, y1) in enumerate(lines):
        size = max(4.0, (y1 - y0) * 0.82)
        c.setFont("DejaVuSans-Bold" if i % 3 == 0 else "DejaVuSans", size)
        c.drawString(x0, H - y1 + (y1 - y0) * 0.22, text)
    c.setLineWidth(0.4)
    for k in range(6):
        y = H - (300 + k * 38)
        c.line(19 * MM, y, 191 * MM, y)
    side = 0.677 * MM
    qx, qy = W - 20 * MM - len(matrix) * side, 40 * MM
    c.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                c.rect(qx + col * side, qy + (len(matrix) - 1 - r) * side, side, side, stroke=0, fill=1)
    c.showPage()
    c.save()
    return out.getvalue()


def median_ms(f, n):
    f()  # warm up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def draw_loading_fonts():
    """The same, parsing the two TTF files for this document too (as a script that starts per certificate does)."""
    pdfmetrics.registerFont(TTFont("DejaVuSans", "assets/fonts/DejaVuSans.ttf"))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", "assets/fonts/DejaVuSans-Bold.ttf"))
    return draw()


theirs = draw()
rl = median_ms(draw, runs)
rl_fonts = median_ms(draw_loading_fonts, max(runs // 4, 10))
dl = median_ms(lambda: download(conn), runs)
print(f"certificate {number}: {len(lines)} text lines, QR {len(matrix)}x{len(matrix)} modules")
print(f"registry download (GET …/pdf, 1 connection, bearer): median {dl:6.2f} ms, {len(ours):6d} bytes")
print(f"reportlab {ACCEL}, segno squares, DejaVu subset:  median {rl:6.2f} ms, {len(theirs):6d} bytes")
print(f"reportlab, parsing the fonts for each document too:  median {rl_fonts:6.2f} ms")
print(f"download / reportlab = 1/{rl / dl:.1f} (1/{rl_fonts / dl:.1f} against reportlab parsing its fonts each time)")
