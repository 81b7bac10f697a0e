#!/usr/bin/env bash
# What the access log costs the QR page, in instructions (valgrind's callgrind counts them, so the figure
# repeats whatever else the machine does, unlike req/s on two shared cores): the release server under
# callgrind, its counters zeroed once it is ready, then N requests for the QR page on one keep-alive
# connection, with RUST_LOG=info (a line per request) and RUST_LOG=warn (none); instructions per request are
# the dumped total over N, every thread included (the log writer's too).
# Usage: benches/log_cost.sh [requests, default 2000]; KEEP=dir keeps the callgrind files (callgrind_annotate)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
bin=target/release/ecolabel
[ -x "$bin" ] || cargo build --release --quiet
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
port=18196
export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" ECOLABEL_PUBLIC_RATE=1000000 ECOLABEL_PUBLIC_BURST=1000000
qr=$("$bin" demo 2>/dev/null | sed -n 's/^verify: //p')
path="/${qr#*//*/}"
run() { # RUST_LOG value
  local out="${KEEP:-$work}/callgrind.$1"
  RUST_LOG="$1" valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$bin" serve >>"$work/serve.$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  # Warm the snapshot cache and the connection paths, then count from zero.
  python3 - "$port" "$path" 50 <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    c.request("GET", sys.argv[2]); r = c.getresponse(); r.read(); assert r.status == 200, r.status
PY
  callgrind_control -z "$pid" >/dev/null
  python3 - "$port" "$path" "$n" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    c.request("GET", sys.argv[2]); r = c.getresponse(); r.read(); assert r.status == 200, r.status
PY
  sleep 0.3 # the log writer's next batch
  callgrind_control -d "$pid" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  # The dump after zeroing is the file with the highest part number.
  local f
  f=$(ls -1 "$out".* | grep -E '\.[0-9]+\.[0-9]+$' | sort -t. -k3n | tail -1)
  awk '/^summary:|^totals:/ {print $2; exit}' "$f"
}
info=$(run info)
warn=$(run warn)
python3 - "$info" "$warn" "$n" <<'PY'
import sys
info, warn, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"QR page, {n} requests: RUST_LOG=info {info / n:,.0f} instructions a request, RUST_LOG=warn {warn / n:,.0f}")
print(f"the access log costs {(info - warn) / n:,.0f} instructions a request, {100 * (info - warn) / info:.1f} % of the request at info")
PY
