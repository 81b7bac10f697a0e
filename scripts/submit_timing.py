#!/usr/bin/env python3
"""Time what an assessor does for one audit: create it, fill the measurements, upload four 1 MiB evidence
PDFs, submit. Usage: submit_timing.py <binary> <DATABASE_URL> [runs]  (starts its own server on loopback)"""
import os, statistics, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry_client as rc

binary, url = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
work = tempfile.mkdtemp(prefix="gel-timing-")
env = dict(os.environ, DATABASE_URL=url, ECOLABEL_DATA_DIR=work, RUST_LOG="warn")
assessor = rc.cli(binary, env, "users", "create", "--role", "assessor", "--name", "timing")
port = rc.free_port()
server = rc.start(binary, env, port)
_, venue = rc.call(port, "POST", "/api/v1/venues", assessor, {"name": "Timing hall", "address": "x", "city": "Astana"})
times = []
for i in range(runs):
    pad = lambda c, i=i: rc.minimal_pdf(f"{c} {i} {time.time()}", pad=1024 * 1024 - 400)
    t = time.perf_counter()
    assert rc.submitted_assessment(port, assessor, venue["id"], pad) is not None
    times.append((time.perf_counter() - t) * 1000)
server.terminate(); server.wait()
backend = url.split(":")[0]
print(f"{backend}: create + measurements + 4 x 1 MiB evidence + submit: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms over {runs} runs")
