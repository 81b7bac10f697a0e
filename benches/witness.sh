#!/usr/bin/env bash
# The witnessed log, measured on a release build (SQLite, loopback only, bounded):
#  1. a witness's round trip: wrk posting the same add-checkpoint (old = size, so each one is checked,
#     stored in its SQLite file with synchronous=FULL, and cosigned) to `ecolabel witness serve`;
#  2. the cost of witnessing with 1,000 status changes in a minute: the registry's CPU seconds and the
#     changes' latency with two witnesses (interval 15 s) and without, and what was sent to the witnesses;
#  3. what the public log stores per change, and what witnessing adds.
# Usage: benches/witness.sh [seconds for wrk, default 10]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
bin=target/release/ecolabel
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=18195
export RUST_LOG=warn ECOLABEL_BIND="127.0.0.1:$port"
ready() { for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return; sleep 0.1; done; }
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; } # utime + stime, in seconds (USER_HZ 100)

# --- 1. witness round trip
"$bin" demo --data-dir "$work/rt" --database-url "sqlite://$work/rt/registry.db" >/dev/null 2>&1
"$bin" serve --data-dir "$work/rt" --database-url "sqlite://$work/rt/registry.db" >/dev/null 2>&1 &
pids+=($!)
ready "http://127.0.0.1:$port/readyz"
vkey=$(curl -fsS "http://127.0.0.1:$port/log/vkey")
note=$(curl -fsS "http://127.0.0.1:$port/log/checkpoint")
size=$(sed -n 2p <<<"$note")
kill "${pids[-1]}"
"$bin" witness serve --name bench.example/w --key-dir "$work/w" --bind 127.0.0.1:18196 --log "$vkey" >/dev/null 2>&1 &
wpid=$!
pids+=($wpid)
ready http://127.0.0.1:18196/ || true
printf 'old 0\n\n%s\n' "$note" >"$work/first"
curl -fsS --data-binary @"$work/first" http://127.0.0.1:18196/add-checkpoint >/dev/null
python3 - "$size" "$work/note" <<EOF
import sys
open(sys.argv[2], "w").write("old " + sys.argv[1] + "\n\n" + """$note""" + "\n")
EOF
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
local f = io.open("$work/note", "rb"); wrk.body = f:read("*a"); f:close()
EOF
cpu_before=$(cpu "$wpid")
out=$(wrk -t1 -c1 -d"${secs}s" --latency -s "$work/post.lua" http://127.0.0.1:18196/add-checkpoint)
cpu_after=$(cpu "$wpid")
n=$(awk '/requests in/ {print $1}' <<<"$out")
echo "1. witness round trip (one connection, ${secs}s, each request checked, stored with synchronous=FULL and cosigned):"
echo "   $(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s; latency p50 $(awk '$1=="50%" {print $2}' <<<"$out"), p99 $(awk '$1=="99%" {print $2}' <<<"$out"); $(awk '/Non-2xx/' <<<"$out")"
echo "   witness CPU per request: $(python3 -c "print(f'{($cpu_after - $cpu_before) / max($n, 1) * 1e6:.0f} µs')")"
out=$(wrk -t2 -c16 -d"${secs}s" --latency -s "$work/post.lua" http://127.0.0.1:18196/add-checkpoint)
echo "   16 connections: $(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s; p99 $(awk '$1=="99%" {print $2}' <<<"$out"); $(awk '/Non-2xx/' <<<"$out")"

# --- 2. 1,000 changes in a minute, with and without witnesses
changes() { # dir, extra serve args…
  local dir=$1; shift
  local db="sqlite://$dir/registry.db"
  [ -f "$dir/registry.db" ] || "$bin" demo --data-dir "$dir" --database-url "$db" >/dev/null 2>&1
  local officer
  officer=$("$bin" users create --role officer --name "bench officer" --data-dir "$dir" --database-url "$db" 2>/dev/null | grep -o 'gel_[A-Za-z0-9_-]*')
  "$bin" serve --data-dir "$dir" --database-url "$db" "$@" >"$dir/serve.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  ready "http://127.0.0.1:$port/readyz"
  local before
  before=$(cpu "$pid")
  python3 - "$port" "$officer" <<'EOF'
import http.client, json, statistics, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
start, lat = time.monotonic(), []
for i in range(1000):
    action = "suspend" if i % 2 == 0 else "reinstate"
    t = time.monotonic()
    c.request("POST", f"/api/v1/certificates/GEL-2025-000001/{action}", json.dumps({"reason": f"bench {i}"}),
              {"Authorization": f"Bearer {token}", "content-type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    lat.append(time.monotonic() - t)
    # 1,000 in 60 s: wait for this change's slot.
    time.sleep(max(0, start + (i + 1) * 0.06 - time.monotonic()))
lat.sort()
print(f"   1000 changes in {time.monotonic() - start:.1f} s; change latency p50 {lat[500] * 1000:.1f} ms, p99 {lat[990] * 1000:.1f} ms")
EOF
  sleep 2
  echo "   registry CPU over the minute: $(python3 -c "print(f'{$(cpu "$pid") - $before:.2f} s')")"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}
echo "2. 1,000 status changes in one minute (release, SQLite):"
echo " without witnesses:"
changes "$work/plain"
for w in 1 2; do
  "$bin" witness vkey --name "bench.example/w$w" --key-dir "$work/w$w" >"$work/w$w.vkey"
done
mkdir -p "$work/with"
"$bin" demo --data-dir "$work/with" --database-url "sqlite://$work/with/registry.db" >/dev/null 2>&1
"$bin" serve --data-dir "$work/with" --database-url "sqlite://$work/with/registry.db" >/dev/null 2>&1 &
p=$!
ready "http://127.0.0.1:$port/readyz"
vkey=$(curl -fsS "http://127.0.0.1:$port/log/vkey")
kill $p
wait $p 2>/dev/null || true
for w in 1 2; do
  "$bin" witness serve --name "bench.example/w$w" --key-dir "$work/w$w" --bind "127.0.0.1:1820$w" --log "$vkey" >/dev/null 2>&1 &
  pids+=($!)
done
echo " with two witnesses (quorum 2, interval 15 s: four times the default rate):"
changes "$work/with" --witness "$(cat "$work/w1.vkey") http://127.0.0.1:18201" --witness "$(cat "$work/w2.vkey") http://127.0.0.1:18202" --witness-quorum 2 --witness-interval 15
python3 - "$work/with/registry.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n, b = c.execute("SELECT count(*), coalesce(sum(length(line)), 0) FROM log_cosignatures").fetchone()
sizes = [r[0] for r in c.execute("SELECT DISTINCT size FROM log_cosignatures ORDER BY size")]
r = c.execute("SELECT count(*) FROM log_witness_refusals").fetchone()[0]
print(f"   cosignatures kept: {n} ({b} bytes) for the checkpoints of sizes {sizes}; refusals: {r}")
EOF

# --- 3. storage per change
db="$work/plain/registry.db"
python3 - "$db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n, e, h = c.execute("SELECT count(*), sum(length(entry)), sum(length(hashes)) FROM log_entries").fetchone()
k, kn = c.execute("SELECT count(*), sum(length(note)) FROM log_checkpoints").fetchone()
print(f"3. the public log per change ({n} entries): entry {e / n:.0f} B, stored hashes {h / n:.0f} B, signed checkpoint {kn / k:.0f} B")
EOF
