"""A tiny HTTP client of the registry for the scripts here (standard library only, loopback only)."""
import json, os, random, socket, subprocess, time, urllib.error, urllib.request

GOLD = {
    "plastic_reduction": {"baseline_kg": 1000, "last_12_months_kg": 400},
    "alternative_materials": {"items_total": 100, "alternatives_count": 80},
    "separate_collection": {"waste_points_total": 20, "points_with_plastic_stream": 19, "contamination_pct": 5},
    "recycling_handover": {"collected_kg": 500, "handed_over_kg": 450, "transfer_notes": [{"recycler": "R", "licence_no": "L-1", "date": "2025-11-01", "kg": 450}]},
}
CRITERIA = ["plastic_reduction", "alternative_materials", "separate_collection", "recycling_handover"]


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def cli(binary, env, *args):
    return subprocess.run([binary, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def request(port, method, path, token, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    return req


def call(port, method, path, token, body=None, headers=None, raw=None):
    """(status, JSON body); raises when no answer comes."""
    status, body, _ = call_full(port, method, path, token, body, headers, raw, answer_required=True)
    return status, body


def call_full(port, method, path, token, body=None, headers=None, raw=None, answer_required=False):
    """(status, JSON body, Retry-After); (None, the error, None) when no answer comes."""
    try:
        with urllib.request.urlopen(request(port, method, path, token, body, headers, raw), timeout=30) as r:
            return r.status, json.loads(r.read() or b"null"), None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers.get("retry-after")
    except Exception as e:
        if answer_required:
            raise
        return None, str(e), None


def multipart(criterion, payload):
    b = "----gel" + str(random.random())[2:]
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"criterion\"\r\n\r\n{criterion}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode() + payload + f"\r\n--{b}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={b}"}


def minimal_pdf(text, pad=0):
    """A small valid one-page PDF (the registry parses evidence), with `pad` bytes of comment filler."""
    content = f"BT /F1 12 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = b"%PDF-1.4\n" + (b"%" + b"0" * (pad - 2) + b"\n" if pad > 2 else b"")
    offsets = []
    for i, o in enumerate(objects):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def start(binary, env, port):
    p = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return p
        except Exception:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def submitted_assessment(port, assessor, venue_id, evidence):
    """Create, fill, attach one evidence file per criterion (evidence(criterion) gives its bytes), submit."""
    status, a = call(port, "POST", "/api/v1/assessments", assessor, {"venue_id": venue_id})
    if status != 201:
        return None
    aid = a["id"]
    call(port, "PATCH", f"/api/v1/assessments/{aid}", assessor, {"measurements": GOLD})
    for c in CRITERIA:
        body, h = multipart(c, evidence(c))
        call(port, "POST", f"/api/v1/assessments/{aid}/evidence", assessor, headers=h, raw=body)
    return aid if call(port, "POST", f"/api/v1/assessments/{aid}/submit", assessor, {})[0] == 200 else None
