#!/usr/bin/env bash
# What the access log costs the QR page under load, with the noise of two shared cores taken out: two release
# servers on copies of one demo registry, one at RUST_LOG=info (a line per request, stderr to a file) and
# one at RUST_LOG=warn (no span, no line), both pinned to core 0 and wrk pinned to core 1, taking turns
# (the order swapped each turn). A server's req/s is then its CPU's, and each turn's info/warn ratio compares
# two runs seconds apart; the median ratio over the turns is the figure.
# Usage: benches/access_log_turns.sh [turns, default 10] [seconds a run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
turns="${1:-10}"
secs="${2:-5}"
bin="${BIN:-target/release/ecolabel}"
[ -x "$bin" ] || cargo build --release --quiet
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
mkdir "$work/info" "$work/warn"
export ECOLABEL_PUBLIC_RATE=1000000 ECOLABEL_PUBLIC_BURST=1000000
qr=$(DATABASE_URL="sqlite://$work/info/registry.db" ECOLABEL_DATA_DIR="$work/info" "$bin" demo 2>/dev/null | sed -n 's/^verify: //p')
path="/${qr#*//*/}"
cp -a "$work/info/." "$work/warn/"
declare -A port=([info]=18191 [warn]=18192) pid
for level in info warn; do
  DATABASE_URL="sqlite://$work/$level/registry.db" ECOLABEL_DATA_DIR="$work/$level" ECOLABEL_BIND="127.0.0.1:${port[$level]}" \
    RUST_LOG=$level taskset -c 0 "$bin" serve >"$work/$level.log" 2>&1 &
  pid[$level]=$!
  pids+=($!)
done
for level in info warn; do
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:${port[$level]}/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://127.0.0.1:${port[$level]}$path"
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# "req/s cpu-µs-per-request" of one run
run() {
  local level=$1 t0 t1 out reqs
  t0=$(cpu_ticks "${pid[$level]}")
  out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:${port[$level]}$path")
  t1=$(cpu_ticks "${pid[$level]}")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}') $(python3 -c "print(round(($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $reqs, 2))")"
}
# Warm both (the snapshot cache, the allocator, the connection paths).
run info >/dev/null
run warn >/dev/null
echo "the demo's QR page, wrk 1 thread, 64 connections, ${secs}s a run, servers on core 0, wrk on core 1"
printf '%-5s %-22s %-22s %s\n' turn "info: req/s, CPU µs" "warn: req/s, CPU µs" "info/warn: req/s, CPU µs"
ratios=()
cpus=()
for turn in $(seq 1 "$turns"); do
  if (( turn % 2 )); then i=$(run info); w=$(run warn); else w=$(run warn); i=$(run info); fi
  ratio=$(python3 -c "print(round(${i%% *} / ${w%% *}, 3))")
  cpu=$(python3 -c "print(round(${i##* } / ${w##* }, 3))")
  ratios+=("$ratio")
  cpus+=("$cpu")
  printf '%-5s %-22s %-22s %s\n' "$turn" "$i" "$w" "$ratio $cpu"
done
python3 - "${#ratios[@]}" "${ratios[@]}" "${cpus[@]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
r = sorted(float(x) for x in sys.argv[2:2 + n])
c = sorted(float(x) for x in sys.argv[2 + n:])
m, mc = statistics.median(r), statistics.median(c)
print(f"median info/warn req/s {m:.3f} (range {r[0]:.3f}-{r[-1]:.3f}): the access log costs {100 * (1 - m):.1f} % of the QR page's req/s")
print(f"median info/warn CPU per request {mc:.3f} (range {c[0]:.3f}-{c[-1]:.3f}): {100 * (mc - 1):.1f} % more CPU per request")
PY
echo "lines written at info: $(grep -c ' request status=' "$work/info.log" || true); at warn: $(grep -c ' request status=' "$work/warn.log" || true)"
