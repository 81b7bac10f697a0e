#!/usr/bin/env python3
"""PostgreSQL failover, end to end on one machine: a primary and a synchronous standby (two PostgreSQL 15
clusters, ports 5433 and 5434, streaming replication, synchronous_commit = on), the registry on a multi-host
URL with target_session_attrs=read-write, certificates issued in a loop; then the primary is killed
(`pg_ctlcluster … stop -m immediate`), the standby promoted, and the registry reconnects by itself.

Checks, each run: while the database switches, every answer is a success or 503 with Retry-After (never
another error); every certificate whose issuance was acknowledged is on the new primary and verifies;
certificate numbers run without gaps; the public log verifies (`ecolabel log verify`). Prints the failover
time (from the kill to the first approval sent after it and acknowledged) and acknowledged against present counts.

Usage: scripts/failover_test.py [path/to/ecolabel] [runs]   (as root, with PostgreSQL 15's server packages)
"""
import os, subprocess, sys, tempfile, threading, time, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry_client as rc

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/ecolabel"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 1
VER, PRIMARY, STANDBY, PP, SP = "15", "fo_primary", "fo_standby", 5433, 5434


def sh(*args, check=True, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def psql(port, sql, db="postgres"):
    return sh("psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-Atc", sql).strip()


def drop_clusters():
    for c in (PRIMARY, STANDBY):
        sh("pg_dropcluster", "--stop", VER, c, check=False)


def make_pair():
    drop_clusters()
    sh("pg_createcluster", VER, PRIMARY, "-p", str(PP), "--", "--auth-host=trust", "--auth-local=trust")
    with open(f"/etc/postgresql/{VER}/{PRIMARY}/conf.d/failover.conf", "w") as f:
        # Synchronous only once the standby is there (before, every commit would wait for it).
        f.write("listen_addresses = '127.0.0.1'\nwal_level = replica\nmax_wal_senders = 5\nsynchronous_commit = on\n")
    sh("pg_ctlcluster", VER, PRIMARY, "start")
    psql(PP, "CREATE DATABASE registry")
    sh("pg_createcluster", VER, STANDBY, "-p", str(SP), "--", "--auth-host=trust", "--auth-local=trust")
    data = f"/var/lib/postgresql/{VER}/{STANDBY}"
    sh("bash", "-c", f"rm -rf {data}/*")
    sh("runuser", "-u", "postgres", "--", "pg_basebackup", "-h", "127.0.0.1", "-p", str(PP), "-U", "postgres",
       "-D", data, "-R", "-X", "stream")
    with open(f"/etc/postgresql/{VER}/{STANDBY}/conf.d/failover.conf", "w") as f:
        f.write("listen_addresses = '127.0.0.1'\nhot_standby = on\n")
    sh("pg_ctlcluster", VER, STANDBY, "start")
    psql(PP, "ALTER SYSTEM SET synchronous_standby_names = '*'")
    psql(PP, "SELECT pg_reload_conf()")
    for _ in range(100):
        if psql(PP, "SELECT sync_state FROM pg_stat_replication") == "sync":
            return
        time.sleep(0.1)
    raise SystemExit("the standby did not become synchronous")


def call(port, method, path, token, body=None, raw=None, headers=None):
    """(status, json, Retry-After) or (None, error, None) when no answer came."""
    return rc.call_full(port, method, path, token, body=body, headers=headers, raw=raw)


def run(n):
    make_pair()
    work = tempfile.mkdtemp(prefix="gel-failover-")
    url = f"postgres://postgres@127.0.0.1:{PP},127.0.0.1:{SP}/registry?target_session_attrs=read-write"
    env = dict(os.environ, DATABASE_URL=url, ECOLABEL_DATA_DIR=work, RUST_LOG="warn")
    rc.cli(BIN, env, "migrate")
    assessor = rc.cli(BIN, env, "users", "create", "--role", "assessor", "--name", "failover assessor")
    officer = rc.cli(BIN, env, "users", "create", "--role", "officer", "--name", "failover officer")
    port = rc.free_port()
    server = rc.start(BIN, env, port)
    status, venue, _ = call(port, "POST", "/api/v1/venues", assessor, {"name": "Failover hall", "address": "x", "city": "Astana"})
    assert status == 201, (status, venue)
    acknowledged, answers, wrong, acked_at = {}, {}, [], []
    lock, stop = threading.Lock(), threading.Event()

    def note(status, body, retry_after):
        with lock:
            answers[status] = answers.get(status, 0) + 1
            ok = status is not None and (200 <= status < 300 or (status == 503 and retry_after))
            if not ok:
                wrong.append((status, body))

    def loop():
        k = 0
        while not stop.is_set():
            k += 1
            status, a, ra = call(port, "POST", "/api/v1/assessments", assessor, {"venue_id": venue["id"]})
            note(status, a, ra)
            if status != 201:
                time.sleep(0.2)
                continue
            steps = [("PATCH", f"/api/v1/assessments/{a['id']}", {"measurements": rc.GOLD})]
            done = True
            for method, path, body in steps:
                s, b, ra = call(port, method, path, assessor, body)
                note(s, b, ra)
                done = done and s is not None and 200 <= s < 300
            if not done:
                continue
            ok = True
            for c in rc.CRITERIA:
                raw, h = rc.multipart(c, rc.minimal_pdf(f"failover {n} {k} {c}"))
                s, b, ra = call(port, "POST", f"/api/v1/assessments/{a['id']}/evidence", assessor, raw=raw, headers=h)
                note(s, b, ra)
                ok = ok and s == 201
            if not ok:
                continue
            s, b, ra = call(port, "POST", f"/api/v1/assessments/{a['id']}/submit", assessor, {})
            note(s, b, ra)
            if s != 200:
                continue
            sent = time.monotonic()
            s, d, ra = call(port, "POST", f"/api/v1/assessments/{a['id']}/decision", officer, {"decision": "approve"})
            note(s, d, ra)
            if s is not None and 200 <= s < 300:
                with lock:
                    acknowledged[d["certificate"]["number"]] = d["certificate"]["qr_text"]
                    acked_at.append((sent, time.monotonic()))

    t = threading.Thread(target=loop)
    t.start()
    time.sleep(3)
    sh("pg_ctlcluster", VER, PRIMARY, "stop", "-m", "immediate")
    # The clock starts once the primary is down (an approval sent while the stop was still under way may
    # commit on it).
    killed = time.monotonic()
    time.sleep(1)  # what a failover manager takes to notice
    sh("pg_ctlcluster", VER, STANDBY, "promote")
    # The failover time: from the kill to the first approval sent after it and acknowledged.
    for _ in range(300):
        with lock:
            if any(sent > killed for sent, _ in acked_at):
                break
        time.sleep(0.05)
    time.sleep(2)
    stop.set()
    t.join()
    with lock:
        after = [done for sent, done in acked_at if sent > killed]
    failover = (min(after) - killed) if after else None
    # Every acknowledged certificate is on the new primary and verifies; numbers run without gaps.
    jwks = os.path.join(work, "jwks.json")
    with open(jwks, "w") as f:
        f.write(urllib.request.urlopen(f"http://127.0.0.1:{port}/.well-known/jwks.json").read().decode())
    missing = []
    for number, qr in acknowledged.items():
        s, c, _ = call(port, "GET", f"/api/v1/certificates/{number}", officer)
        v = subprocess.run([BIN, "verify", qr, "--jwks", jwks], env=env, capture_output=True, text=True)
        if s != 200 or v.returncode != 0:
            missing.append(number)
    numbers = psql(SP, "SELECT number FROM certificates ORDER BY number", db="registry").split()
    gaps = [x for i, x in enumerate(numbers) if int(x[-6:]) != i + 1]
    monitor = subprocess.run([BIN, "log", "verify", f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True)
    server.terminate()
    server.wait()
    drop_clusters()
    ok = bool(after) and not missing and not gaps and not wrong and monitor.returncode == 0 and len(acknowledged) > 0
    print(f"run {n}: failover {failover if failover is None else round(failover, 2)} s; acknowledged {len(acknowledged)}, "
          f"present {len(numbers)}, missing {len(missing)}, number gaps {len(gaps)}; answers {dict(sorted(answers.items(), key=str))}; "
          f"other than 2xx or 503+Retry-After: {wrong[:3]}; log verify: {monitor.stdout.strip().splitlines()[-1] if monitor.stdout.strip() else monitor.stderr.strip()}",
          flush=True)
    return ok


if __name__ == "__main__":
    results = [run(n + 1) for n in range(RUNS)]
    print("PASS" if all(results) else "FAIL")
    sys.exit(0 if all(results) else 1)
