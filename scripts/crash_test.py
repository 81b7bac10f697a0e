#!/usr/bin/env python3
"""Kill the registry with SIGKILL while it issues certificates, restart, ten times; then check that every
certificate whose approval got a 2xx is present and verifies, that no certificate exists without its
approved assessment, and (SQLite) that PRAGMA integrity_check is ok.

Usage: scripts/crash_test.py [path/to/ecolabel] [rounds]   (standard library only; talks to 127.0.0.1)
"""
import json, os, random, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time, urllib.request, urllib.error

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/ecolabel"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
work = tempfile.mkdtemp(prefix="gel-crash-")
db_path = os.path.join(work, "registry.db")
env = dict(os.environ, DATABASE_URL=f"sqlite://{db_path}", ECOLABEL_DATA_DIR=work, RUST_LOG="warn")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def cli(*args):
    return subprocess.run([BIN, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()

def call(port, method, path, token, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def multipart(criterion, payload):
    b = "----gel" + str(random.random())[2:]
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"criterion\"\r\n\r\n{criterion}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode() + payload + f"\r\n--{b}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={b}"}

GOLD = {
    "plastic_reduction": {"baseline_kg": 1000, "last_12_months_kg": 400},
    "alternative_materials": {"items_total": 100, "alternatives_count": 80},
    "separate_collection": {"waste_points_total": 20, "points_with_plastic_stream": 19, "contamination_pct": 5},
    "recycling_handover": {"collected_kg": 500, "handed_over_kg": 450, "transfer_notes": [{"recycler": "R", "licence_no": "L-1", "date": "2025-11-01", "kg": 450}]},
}

def start(port):
    p = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1); return p
        except Exception:
            time.sleep(0.05)
    raise SystemExit("server did not start")

cli("migrate")
assessor = cli("users", "create", "--role", "assessor", "--name", "crash assessor")
officer = cli("users", "create", "--role", "officer", "--name", "crash officer")
acknowledged = {}  # certificate number -> assessment id, for every approval that got a 2xx
lock = threading.Lock()
port = free_port()
server = start(port)
status, venue = call(port, "POST", "/api/v1/venues", assessor, {"name": "Crash hall", "address": "x", "city": "Astana"})
venue_id = venue["id"]
seq = 0

def prepare(port):
    global seq
    status, a = call(port, "POST", "/api/v1/assessments", assessor, {"venue_id": venue_id})
    if status != 201: return None
    aid = a["id"]
    call(port, "PATCH", f"/api/v1/assessments/{aid}", assessor, {"measurements": GOLD})
    for c in ["plastic_reduction", "alternative_materials", "separate_collection", "recycling_handover"]:
        seq += 1
        body, h = multipart(c, b"%PDF-1.4\n% crash test " + str(seq).encode() + b"\n%%EOF\n")
        call(port, "POST", f"/api/v1/assessments/{aid}/evidence", assessor, headers=h, raw=body)
    return aid if call(port, "POST", f"/api/v1/assessments/{aid}/submit", assessor, {})[0] == 200 else None

def issue_loop(port, stop):
    while not stop.is_set():
        try:
            aid = prepare(port)
            if aid is None: continue
            status, d = call(port, "POST", f"/api/v1/assessments/{aid}/decision", officer, {"decision": "approve"})
            if 200 <= status < 300:
                with lock: acknowledged[d["certificate"]["number"]] = aid
        except Exception:
            time.sleep(0.01)

for round_no in range(ROUNDS):
    stop = threading.Event()
    t = threading.Thread(target=issue_loop, args=(port, stop)); t.start()
    time.sleep(random.uniform(0.5, 1.5))
    server.send_signal(signal.SIGKILL); server.wait()
    stop.set(); t.join()
    server = start(port)
    print(f"round {round_no + 1}: killed and restarted; {len(acknowledged)} acknowledged certificates so far", flush=True)

status, jwks = 200, json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/.well-known/jwks.json").read())
jwks_file = os.path.join(work, "jwks.json"); open(jwks_file, "w").write(json.dumps(jwks))
missing = []
for number, aid in acknowledged.items():
    status, c = call(port, "GET", f"/api/v1/certificates/{number}", officer)
    if status != 200: missing.append(number); continue
    v = subprocess.run([BIN, "verify", c["qr_text"], "--jwks", jwks_file], env=env, capture_output=True, text=True)
    if v.returncode != 0: missing.append(number + " (does not verify)")
server.send_signal(signal.SIGTERM); server.wait()
con = sqlite3.connect(db_path)
integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
orphans = con.execute("SELECT count(*) FROM certificates c JOIN assessments a ON a.id = c.assessment_id WHERE a.status != 'approved'").fetchone()[0]
approved_without = con.execute("SELECT count(*) FROM assessments a LEFT JOIN certificates c ON c.assessment_id = a.id WHERE a.status = 'approved' AND c.id IS NULL").fetchone()[0]
numbers = [r[0] for r in con.execute("SELECT number FROM certificates ORDER BY number")]
gaps = [n for i, n in enumerate(numbers) if int(n[-6:]) != i + 1]
total = len(numbers)
print(f"acknowledged: {len(acknowledged)}, stored: {total}, missing or not verifying: {len(missing)}, "
      f"certificates without an approved assessment: {orphans}, approved without certificate: {approved_without}, "
      f"number gaps: {len(gaps)}, integrity_check: {integrity}")
ok = not missing and orphans == 0 and approved_without == 0 and not gaps and integrity == "ok" and len(acknowledged) > 0
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
