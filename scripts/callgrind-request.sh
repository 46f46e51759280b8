#!/usr/bin/env bash
# Instructions per request of one guarded route, counted by valgrind's callgrind: repeatable
# for the same binary and inputs whatever else the machine is doing (unlike req/s on a shared
# machine), so it can compare two servers while other work runs. Not part of CI.
#
# Usage: scripts/callgrind-request.sh example FRAMEWORK [VAR=VALUE…]
#        scripts/callgrind-request.sh bench FRAMEWORK
#   example: the shipped example server (release build, fresh SQLite file; extra environment
#            such as RUST_LOG=warn or AUTH_REQUEST_LOG=each on top), GET /api/hello with an
#            access token from its own SMS login;
#   bench:   auth-bench serve --store sqlite, GET /bench/guarded.
# Prints `<instructions per request>` and the path of callgrind_annotate's listing (function
# costs, for comparing two runs). One wrk connection for 8 s under callgrind (~5 000 requests).
# Environment: CARGO_TARGET_DIR, BENCH_PORT (default 38097).
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:?example or bench}; FW=${2:?axum, actix or rocket}; shift 2
PORT=${BENCH_PORT:-38097}
T=${CARGO_TARGET_DIR:-$PWD/target}/release
command -v valgrind >/dev/null || { echo "valgrind is not installed (Debian: apt-get install valgrind)" >&2; exit 2; }
D=$(mktemp -d /tmp/callgrind-request.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; true' EXIT
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
if [ "$KIND" = example ]; then
  [ -x "$T/example-$FW" ] || cargo build --locked --release -p "example-$FW"
  (cd "$D" && exec env -u REDIS_URL -u DATABASE_URL AUTH_BIND=127.0.0.1:$PORT AUTH_DB=$D/auth.db \
    AUTH_SMS_OUTBOX=$D/sms.jsonl "$@" valgrind --tool=callgrind --callgrind-out-file="$D/cg" \
    "$T/example-$FW") >"$D/out" 2>"$D/err" &
  PID=$!
  for _ in $(seq 1 120); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/maybe" && break; sleep 1; done
  base=http://127.0.0.1:$PORT/api/auth phone=+15550001000
  curl -fs -o /dev/null -H 'content-type: application/json' -d "{\"phone\":\"$phone\"}" "$base/register"
  challenge=$(curl -fs -H 'content-type: application/json' -d "{\"phone\":\"$phone\"}" "$base/login" | json_field challenge_id)
  code=$(tail -1 "$D/sms.jsonl" | json_field code)
  token=$(curl -fs -H 'content-type: application/json' -d "{\"challenge_id\":\"$challenge\",\"code\":\"$code\"}" \
    "$base/verify_sms" | json_field access_token)
  URL=http://127.0.0.1:$PORT/api/hello
else
  [ -x "$T/auth-bench" ] || cargo build --locked --release -p auth-bench
  valgrind --tool=callgrind --callgrind-out-file="$D/cg" "$T/auth-bench" serve --framework "$FW" \
    --port "$PORT" --fixture "$D/fixture.lua" --sqlite-path "$D/bench.db" --store sqlite \
    --chains 1 --phones 1 >"$D/out" 2>"$D/err" &
  PID=$!
  for _ in $(seq 1 240); do curl -s -o /dev/null "http://127.0.0.1:$PORT/bench/plain" && [ -s "$D/fixture.lua" ] && break; sleep 1; done
  token=$(sed -n 's/.*access_token = "\([^"]*\)".*/\1/p' "$D/fixture.lua")
  URL=http://127.0.0.1:$PORT/bench/guarded
fi
callgrind_control -z "$PID" >/dev/null
requests=$(wrk -t1 -c1 -d8s -H "Authorization: Bearer $token" "$URL" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
callgrind_control -d "$PID" >/dev/null
kill -INT "$PID" 2>/dev/null || true; sleep 2; kill -9 "$PID" 2>/dev/null || true; PID=""
callgrind_annotate --threshold=100 "$D/cg.1" >"$D/annotate.txt" 2>/dev/null
total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS/\1/p' "$D/annotate.txt" | tr -d ,)
echo "$KIND $FW $*: $requests requests, $((total / requests)) instructions per request (listing: $D/annotate.txt)"
