#!/usr/bin/env python3
"""Kill the registry with SIGKILL while it issues certificates, restart, ten times; then check that every
certificate whose approval got a 2xx is present and verifies, that no certificate exists without its
approved assessment, and (SQLite) that PRAGMA integrity_check is ok. A webhook subscriber (a receiver in this
process) and a venue manager with an address are registered first: every log entry must have its webhook
delivery and its notification rows (the outbox commits with the change), and once the restarted server has
drained the outbox the receiver must have got every delivery, each one once.

Usage: scripts/crash_test.py [path/to/ecolabel] [rounds]   (standard library only; talks to 127.0.0.1)
"""
import json, os, random, signal, sqlite3, subprocess, sys, tempfile, threading, time, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry_client as rc

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/ecolabel"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
work = tempfile.mkdtemp(prefix="gel-crash-")
db_path = os.path.join(work, "registry.db")
# The webhook receiver is on loopback, which a registry refuses unless told it is a test set-up.
env = dict(os.environ, DATABASE_URL=f"sqlite://{db_path}", ECOLABEL_DATA_DIR=work, RUST_LOG="warn", ECOLABEL_WEBHOOK_ALLOW_PRIVATE="true")

def cli(*args):
    return rc.cli(BIN, env, *args)

def call(*args, **kw):
    return rc.call(*args, **kw)

def start(port):
    return rc.start(BIN, env, port)

def prepare(port):
    global seq
    seq += 1
    n = seq
    return rc.submitted_assessment(port, assessor, venue_id, lambda c: rc.minimal_pdf(f"crash test {n} {c}"))

cli("migrate")
assessor = cli("users", "create", "--role", "assessor", "--name", "crash assessor")
officer = cli("users", "create", "--role", "officer", "--name", "crash officer")
admin = cli("users", "create", "--role", "admin", "--name", "crash admin")

# The webhook receiver: records each webhook-id it is sent.
import http.server
received = []
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock: received.append(self.headers.get("webhook-id"))
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
hook_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook_server.serve_forever, daemon=True).start()
acknowledged = {}  # certificate number -> assessment id, for every approval that got a 2xx
lock = threading.Lock()
port = rc.free_port()
server = start(port)
status, venue = call(port, "POST", "/api/v1/venues", assessor, {"name": "Crash hall", "address": "x", "city": "Astana"})
venue_id = venue["id"]
status, _ = call(port, "POST", "/api/v1/webhooks", admin, {"url": f"http://127.0.0.1:{hook_server.server_port}/hook"})
assert status == 201, status
cli("users", "invite", "--email", "manager@crash.kz", "--name", "crash manager", "--role", "venue", "--venue", str(venue_id))
seq = 0

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
# The public log must agree with the registry after every crash: one entry per certificate, signed
# checkpoint, tree, tiles and statuses (the monitor), and no entry for a certificate that does not exist.
monitor = subprocess.run([BIN, "log", "verify", f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True)
print(monitor.stdout.strip())
# The restarted server drains the webhook outbox (its sender runs every 2 s).
con = sqlite3.connect(db_path)
for _ in range(600):
    if con.execute("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL").fetchone()[0] == 0: break
    time.sleep(0.1)
server.send_signal(signal.SIGTERM); server.wait()
logged = con.execute("SELECT count(*), count(DISTINCT number), sum(CAST(entry AS TEXT) LIKE '%\"type\":\"issued\"%') FROM log_entries").fetchone()
certs = con.execute("SELECT count(*) FROM certificates").fetchone()[0]
log_ok = monitor.returncode == 0 and logged[1] == logged[2] == certs
integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
orphans = con.execute("SELECT count(*) FROM certificates c JOIN assessments a ON a.id = c.assessment_id WHERE a.status != 'approved'").fetchone()[0]
approved_without = con.execute("SELECT count(*) FROM assessments a LEFT JOIN certificates c ON c.assessment_id = a.id WHERE a.status = 'approved' AND c.id IS NULL").fetchone()[0]
numbers = [r[0] for r in con.execute("SELECT number FROM certificates ORDER BY number")]
gaps = [n for i, n in enumerate(numbers) if int(n[-6:]) != i + 1]
total = len(numbers)
entries = con.execute("SELECT count(*) FROM log_entries").fetchone()[0]
deliveries = con.execute("SELECT count(*), count(DISTINCT msg_id), sum(delivered_at IS NOT NULL) FROM webhook_deliveries").fetchone()
told = con.execute("SELECT count(*) FROM notifications WHERE recipient_email = 'manager@crash.kz'").fetchone()[0]
issued_entries = logged[2]
outbox_ok = deliveries[0] == deliveries[1] == entries and told == issued_entries
with lock: got, distinct = len(received), len(set(received))
sent_ok = deliveries[2] == entries and distinct == entries
print(f"outbox: {entries} log entries, {deliveries[0]} webhook deliveries ({deliveries[2]} delivered), "
      f"{told} notifications to the manager for {issued_entries} issued; receiver got {got} requests, {distinct} distinct, "
      f"{got - distinct} repeated (a kill between the answer and its record repeats it, with the same webhook-id)")
print(f"acknowledged: {len(acknowledged)}, stored: {total}, missing or not verifying: {len(missing)}, "
      f"certificates without an approved assessment: {orphans}, approved without certificate: {approved_without}, "
      f"number gaps: {len(gaps)}, integrity_check: {integrity}, log entries: {logged[0]} (log agrees: {log_ok})")
ok = not missing and orphans == 0 and approved_without == 0 and not gaps and integrity == "ok" and len(acknowledged) > 0 and log_ok and outbox_ok and sent_ok
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
