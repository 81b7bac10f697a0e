#!/usr/bin/env bash
# Running it for real, measured on a release build (loopback only, bounded):
#  1. the QR page's requests per second (wrk, 64 connections) with per-request metrics and the access log at
#     the default level (to a file), with --request-metrics false, and with RUST_LOG=warn (no request lines),
#     taking turns, three rounds;
#  2. `ecolabel backup` and `ecolabel restore` at 100,000 seeded certificates (SQLite): time and file size;
#  3. PostgreSQL failover over 5 runs (scripts/failover_test.py): failover time, acknowledged against present.
# Usage: benches/operations.sh [seconds per wrk run, default 10] [certificates, default 100000]
#        PARTS=1 (or 2, 3, 13 …) runs only those parts; ROUNDS (default 3) the QR page's rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
certs="${2:-100000}"
bin=target/release/ecolabel
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
port=18197
export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" ECOLABEL_PUBLIC_RATE=1000000 ECOLABEL_PUBLIC_BURST=1000000
qr=$("$bin" demo 2>/dev/null | sed -n 's/^verify: //p')
path="/${qr#*//*/}"
serve() { # extra args…
  "$bin" serve "$@" >>"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
}
stop() { kill $pid; wait $pid 2>/dev/null || true; pid=; }
# req/s, and the server's CPU time per request in µs (user + system, its log thread included, from
# /proc/<pid>/stat): the CPU figure is steadier than req/s, which wrk's own share of the two cores moves.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rps() {
  local t0 out reqs t1
  t0=$(cpu_ticks)
  out=$(wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$port$path")
  t1=$(cpu_ticks)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')/$(python3 -c "print(round(($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $reqs, 1))")µs"
}
parts="${PARTS:-123}"
if [[ $parts == *1* ]]; then
echo "1. the QR page ($path), wrk 2 threads, 64 connections, ${secs}s a run, req/s / server CPU per request:"
printf '   %-6s %-44s %-30s %s\n' round "metrics on, access log at info (to a file)" "--request-metrics false" "RUST_LOG=warn"
for round in $(seq 1 "${ROUNDS:-3}"); do
  RUST_LOG=info serve; a=$(rps); stop
  RUST_LOG=info serve --request-metrics false; b=$(rps); stop
  RUST_LOG=warn serve; c=$(rps); stop
  printf '   %-6s %-44s %-30s %s\n' "$round" "$a" "$b" "$c"
done
echo "   access log lines written: $(grep -c ' request' "$work/serve.log" || true)"
fi

if [[ $parts == *2* ]]; then
echo "2. backup and restore at $certs certificates (SQLite):"
rm -rf "$work/big" && mkdir -p "$work/big"
big=(--data-dir "$work/big" --database-url "sqlite://$work/big/registry.db")
start=$(date +%s.%N)
RUST_LOG=warn "$bin" seed --certificates "$certs" "${big[@]}" >/dev/null 2>&1
echo "   seeded in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
echo "a long backup passphrase" >"$work/pass"
/usr/bin/time -f "   backup: %e s, peak RSS %M KiB" "$bin" backup --out "$work/big.backup" --passphrase-file "$work/pass" "${big[@]}" 2>&1 | grep -v WARN
echo "   backup file: $(du -h "$work/big.backup" | cut -f1) (database $(du -h "$work/big/registry.db" | cut -f1))"
/usr/bin/time -f "   restore: %e s, peak RSS %M KiB" "$bin" restore "$work/big.backup" --passphrase-file "$work/pass" --data-dir "$work/restored" 2>&1 | grep -v WARN | grep -v "^DATABASE_URL"

fi
if [[ $parts == *3* ]]; then
echo "3. PostgreSQL failover, 5 runs:"
python3 scripts/failover_test.py "$bin" 5 | sed 's/^/   /'
fi
