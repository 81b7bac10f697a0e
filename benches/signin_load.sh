#!/usr/bin/env bash
# Sign-ins per second: wrk posts the /login form (e-mail and password, a person without a second factor)
# to a release build on SQLite; every request checks an argon2id hash and, when right, starts a session.
# Usage: benches/signin_load.sh [seconds, default 15] [connections, default 8]   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
conns="${2:-8}"
bin=target/release/ecolabel
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
port=18191
export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" RUST_LOG=warn
# One client (wrk) signs in over and over: lift the per-IP sign-in limit for the measurement.
export ECOLABEL_SIGNIN_RATE=100000
link=$("$bin" users invite --email bench@example.kz --name "Load test" --role assessor 2>/dev/null)
"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
pw="steppe wind over the ishim river"
curl -fsS -o /dev/null -H "Origin: http://127.0.0.1:$port" --data-urlencode "password=$pw" --data-urlencode "password_confirm=$pw" \
  "http://127.0.0.1:$port/invite/${link##*/invite/}"
cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Origin"] = "http://127.0.0.1:$port"
wrk.body = "email=bench%40example.kz&password=steppe+wind+over+the+ishim+river"
local ok, other = 0, 0
response = function(status) if status == 303 then ok = ok + 1 else other = other + 1 end end
LUA
echo "wrk: 2 threads, $conns connections, ${secs}s, POST /login (right password), release build, SQLite, $(nproc) cores"
out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/login.lua" "http://127.0.0.1:$port/login")
echo "$out" | grep -E "Requests/sec|Latency|99%|Non-2xx|Socket errors" || true
sessions=$(sqlite3 "$work/registry.db" "select count(*) from sessions" 2>/dev/null || echo "?")
echo "sessions started: $sessions"
