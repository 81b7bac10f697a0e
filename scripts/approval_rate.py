#!/usr/bin/env python3
"""Issuance throughput: prepare N submitted Gold assessments (one venue each), then approve them one after
another over HTTP and time only the approvals (each is one transaction: decision, certificate, events and,
since the public log, its entry and signed checkpoint). Run it against two binaries to compare.
Usage: approval_rate.py <ecolabel binary> [N] [database URL]   (default: a fresh SQLite file)"""
import os, statistics, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry_client as rc

binary = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
work = tempfile.mkdtemp(prefix="gel-rate-")
url = sys.argv[3] if len(sys.argv) > 3 else f"sqlite://{work}/registry.db"
env = dict(os.environ, DATABASE_URL=url, ECOLABEL_DATA_DIR=work, RUST_LOG="warn")
assessor = rc.cli(binary, env, "users", "create", "--role", "assessor", "--name", "rate assessor")
officer = rc.cli(binary, env, "users", "create", "--role", "officer", "--name", "rate officer")
port = rc.free_port()
server = rc.start(binary, env, port)
pending = []
for i in range(n):
    _, venue = rc.call(port, "POST", "/api/v1/venues", assessor, {"name": f"Rate hall {i}", "address": "x", "city": "Astana"})
    aid = rc.submitted_assessment(port, assessor, venue["id"], lambda c, i=i: rc.minimal_pdf(f"{c} {i}"))
    assert aid is not None
    pending.append(aid)
times = []
start = time.perf_counter()
for aid in pending:
    t = time.perf_counter()
    status, _ = rc.call(port, "POST", f"/api/v1/assessments/{aid}/decision", officer, {"decision": "approve"})
    assert status == 200, status
    times.append((time.perf_counter() - t) * 1000)
total = time.perf_counter() - start
server.terminate(); server.wait()
print(f"{os.path.basename(binary)} on {url.split(':')[0]}: {n} approvals in {total:.2f} s = {n / total:.0f}/s, "
      f"median {statistics.median(times):.2f} ms, p95 {sorted(times)[int(n * 0.95) - 1]:.2f} ms")
