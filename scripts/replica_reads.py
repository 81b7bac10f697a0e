#!/usr/bin/env python3
"""Public reads from a read replica, measured on one machine: the primary and synchronous standby of
failover_test.py (PostgreSQL 15, ports 5433 and 5434), two registry servers A and B on the primary with
`--read-database-url` on the standby, certificates issued in a loop on A meanwhile.

Checks and figures:
- the replica's lag as the registry measures it (`ecolabel_read_replica_lag_seconds`, sampled every 100 ms
  while issuing): median, p99 and the largest seen; reads served by the replica against the primary;
- read your own writes: right after A suspends a certificate, A's QR page shows the suspension (always);
- the freshness promise: how long until B's QR page shows it (B's snapshot is at most 1 s old and its
  replica at most --read-max-lag-ms behind, so at most 1 s + the bound: 2 s by default).

Usage: scripts/replica_reads.py [path/to/ecolabel] [suspensions]   (as root, with PostgreSQL 15's server packages)
"""
import os, statistics, sys, tempfile, threading, time, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry_client as rc
from failover_test import PP, SP, drop_clusters, make_pair

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/ecolabel"
SUSPENSIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
BOUND_S = 2.0


def metric(port, name, labels=""):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(name + labels) and not l.startswith("#"))


def page(port, path):
    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read().decode()


def issue(port, assessor, officer, k):
    """A certificate for a new venue (a second one for the same venue would supersede the first)."""
    s, venue = rc.call(port, "POST", "/api/v1/venues", assessor, {"name": f"Replica hall {k}", "address": "x", "city": "Astana"})
    assert s == 201, venue
    aid = rc.submitted_assessment(port, assessor, venue["id"], lambda c: rc.minimal_pdf(f"replica {k} {c}"))
    if aid is None:
        return None
    s, d = rc.call(port, "POST", f"/api/v1/assessments/{aid}/decision", officer, {"decision": "approve"})
    return d["certificate"] if s == 200 else None


def main():
    make_pair()
    work = tempfile.mkdtemp(prefix="gel-replica-")
    env = dict(os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:{PP}/registry", ECOLABEL_DATA_DIR=work,
               ECOLABEL_READ_DATABASE_URL=f"postgres://postgres@127.0.0.1:{SP}/registry", RUST_LOG="warn",
               ECOLABEL_PUBLIC_RATE="100000", ECOLABEL_PUBLIC_BURST="100000")
    rc.cli(BIN, env, "migrate")
    assessor = rc.cli(BIN, env, "users", "create", "--role", "assessor", "--name", "replica assessor")
    officer = rc.cli(BIN, env, "users", "create", "--role", "officer", "--name", "replica officer")
    a, b = rc.free_port(), rc.free_port()
    servers = [rc.start(BIN, env, a), rc.start(BIN, env, b)]
    try:
        certs, lags, stop = [], [], threading.Event()

        def issuing():
            k = 0
            while not stop.is_set():
                k += 1
                c = issue(a, assessor, officer, k)
                if c:
                    certs.append(c)

        t = threading.Thread(target=issuing)
        t.start()
        started = time.monotonic()
        while time.monotonic() - started < 10:
            for c in list(certs[-3:]):
                page(b, rc_path(c["qr_text"]))
            lag = metric(b, "ecolabel_read_replica_lag_seconds")
            if lag >= 0:
                lags.append(lag)
            time.sleep(0.1)
        stop.set()
        t.join()
        replica_reads, primary_reads = metric(b, "ecolabel_public_reads_total", '{source="replica"}'), metric(b, "ecolabel_public_reads_total", '{source="primary"}')
        own, seen = [], []
        for c in certs[:SUSPENSIONS]:
            reason = f"Replica check {c['number']}"
            page(b, rc_path(c["qr_text"]))  # B holds a snapshot from before the change
            s, body = rc.call(a, "POST", f"/api/v1/certificates/{c['number']}/suspend", officer, {"reason": reason})
            assert s == 200, body
            changed = time.monotonic()
            own.append(reason in page(a, rc_path(c["qr_text"])))
            while reason not in page(b, rc_path(c["qr_text"])):
                if time.monotonic() - changed > 10:
                    break
                time.sleep(0.01)
            seen.append(time.monotonic() - changed)
        a_replica, a_primary = metric(a, "ecolabel_public_reads_total", '{source="replica"}'), metric(a, "ecolabel_public_reads_total", '{source="primary"}')
        lags.sort()
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else None
        print(f"issued {len(certs)} certificates in 10 s; replica lag over {len(lags)} samples: median "
              f"{statistics.median(lags) * 1000 if lags else float('nan'):.1f} ms, p99 {p99 * 1000 if lags else float('nan'):.1f} ms, "
              f"max {lags[-1] * 1000 if lags else float('nan'):.1f} ms; public reads on B: {replica_reads:.0f} from the replica, "
              f"{primary_reads:.0f} from the primary; on A (which made the changes) {a_replica:.0f} and {a_primary:.0f}")
        print(f"suspensions: shown at once on the server that made them {sum(own)}/{len(own)}; on the other server after "
              f"{', '.join(f'{x:.2f}' for x in seen)} s (bound {BOUND_S} s)")
        ok = lags and replica_reads > 0 and all(own) and len(seen) == SUSPENSIONS and max(seen) <= BOUND_S
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        for p in servers:
            p.terminate()
            p.wait()
        drop_clusters()


def rc_path(qr):
    return qr[qr.index("/V/"):]


if __name__ == "__main__":
    sys.exit(main())
