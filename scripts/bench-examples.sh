#!/usr/bin/env bash
# The shipped example servers under load, beside the bench server: what a user who copies an
# example gets. For each adapter, in paired rounds (order reversed every other round):
#   * `auth-bench serve --store sqlite`, GET /bench/guarded (the bench server's guard);
#   * the example server as shipped (release build, SQLite file, default logging to a file),
#     GET /api/hello (AuthUser, the same session check);
#   * the same with AUTH_REQUEST_LOG=each (a log line per request instead of the per-second
#     summary);
#   * the same with RUST_LOG=warn (no request lines).
# Each is its own process on the same port, started and stopped around its runs. The access
# token for an example server comes from its own SMS login (register, login, the code from
# the SMS outbox, verify_sms), as a client would get it.
#
# Usage: scripts/bench-examples.sh [--frameworks axum,actix,rocket] [--rounds N] [--seconds S]
#                                  [--results FILE] [--table]
#   --results FILE  append one JSON line per run to FILE (scripts/bench.sh reads them)
#   --table         print a markdown table of the medians and paired ratios at the end
# Environment: BENCH_PORT (default 38095), CARGO_TARGET_DIR. Builds the release binaries
# (auth-bench, example-axum, example-actix, example-rocket) when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FRAMEWORKS=axum,actix,rocket ROUNDS=3 SECONDS_PER_RUN=10 RESULTS="" TABLE=false
while [ $# -gt 0 ]; do
  case $1 in
    --frameworks) FRAMEWORKS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --results) RESULTS=$2; shift ;;
    --table) TABLE=true ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
PORT=${BENCH_PORT:-38095}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/auth-bench
for fw in ${FRAMEWORKS//,/ }; do
  [ -x "$TARGET_DIR/release/example-$fw" ] || cargo build --locked --release -p "example-$fw"
done
[ -x "$BIN" ] || cargo build --locked --release -p auth-bench
RUN=$(mktemp -d /tmp/auth-bench-examples.XXXXXX)
[ -n "$RESULTS" ] || RESULTS=$RUN/results.jsonl
SERVER=""
stop_server() {
  [ -n "$SERVER" ] || return 0
  kill "$SERVER" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=""
}
trap 'stop_server; rm -rf "$RUN"' EXIT
trap 'exit 143' TERM INT

wait_for() { # URL
  for _ in $(seq 1 600); do
    curl -s -o /dev/null "$1" && return 0
    kill -0 "$SERVER" 2>/dev/null || { cat "$RUN/server.log" >&2; echo "the server exited" >&2; exit 1; }
    sleep 0.2
  done
  echo "no answer from $1 within 120 s" >&2; exit 1
}

# json_field NAME: the string value of NAME in the JSON on stdin.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# start_example FRAMEWORK [VAR=VALUE…]: the example server as shipped (with the given
# environment on top), on a fresh SQLite file, and a fixture with an access token from its own
# SMS login.
start_example() {
  local fw=$1 base="http://127.0.0.1:$PORT/api/auth" phone=+15550001000
  shift
  rm -rf "$RUN/example" && mkdir -p "$RUN/example"
  (
    cd "$RUN/example"
    export AUTH_BIND=127.0.0.1:$PORT AUTH_DB=$RUN/example/auth.db AUTH_SMS_OUTBOX=$RUN/example/sms.jsonl
    unset REDIS_URL DATABASE_URL RUST_LOG AUTH_REQUEST_LOG
    exec env "$@" "$TARGET_DIR/release/example-$fw"
  ) >"$RUN/example/stdout.log" 2>"$RUN/server.log" &
  SERVER=$!
  wait_for "http://127.0.0.1:$PORT/api/maybe"
  curl -fs -o /dev/null -H 'content-type: application/json' -d "{\"phone\":\"$phone\"}" "$base/register"
  local challenge code access
  challenge=$(curl -fs -H 'content-type: application/json' -d "{\"phone\":\"$phone\"}" "$base/login" | json_field challenge_id)
  code=$(tail -1 "$RUN/example/sms.jsonl" | json_field code)
  access=$(curl -fs -H 'content-type: application/json' \
    -d "{\"challenge_id\":\"$challenge\",\"code\":\"$code\"}" "$base/verify_sms" | json_field access_token)
  printf 'return { access_token = "%s" }\n' "$access" >"$RUN/fixture.lua"
}

start_bench() {
  local fw=$1
  rm -f "$RUN/fixture.lua" "$RUN/bench.db"*
  "$BIN" serve --framework "$fw" --port "$PORT" --fixture "$RUN/fixture.lua" \
    --sqlite-path "$RUN/bench.db" --store sqlite --chains 1 --phones 1 >"$RUN/server.log" 2>&1 &
  SERVER=$!
  wait_for "http://127.0.0.1:$PORT/bench/plain"
  for _ in $(seq 1 100); do [ -s "$RUN/fixture.lua" ] && break; sleep 0.1; done
}

# measure FRAMEWORK VARIANT ROUND PATH
measure() {
  local fw=$1 variant=$2 round=$3 path=$4 line
  BENCH_FIXTURE=$RUN/fixture.lua BENCH_THREADS=2 BENCH_WRK_DIR=$ROOT/bench/wrk \
    wrk -t2 -c50 -d"${SECONDS_PER_RUN}s" --timeout 10s --latency -s "$ROOT/bench/wrk/get.lua" \
    "http://127.0.0.1:$PORT$path" >"$RUN/wrk.log" 2>&1 || true
  line=$(sed -n 's/^RESULT //p' "$RUN/wrk.log")
  [ -n "$line" ] || { cat "$RUN/wrk.log" >&2; echo "wrk gave no result" >&2; exit 1; }
  printf '{"kind":"example","adapter":"%s","variant":"%s","round":%d,"wrk":%s}\n' \
    "$fw" "$variant" "$round" "$line" >>"$RESULTS"
  printf '  %-7s %-16s round %d: %s\n' "$fw" "$variant" "$round" \
    "$(sed -n 's/.*"rps":\([0-9.]*\).*"p99_us":\([0-9.]*\).*"non2xx":\([0-9]*\).*/\1 req\/s, p99 \2 µs, non-2xx \3/p' <<<"$line")" >&2
}

run_variant() { # FRAMEWORK VARIANT ROUND
  local fw=$1 variant=$2 round=$3
  case $variant in
    bench) start_bench "$fw"; measure "$fw" bench "$round" /bench/guarded ;;
    example) start_example "$fw"; measure "$fw" example "$round" /api/hello ;;
    example-each) start_example "$fw" AUTH_REQUEST_LOG=each; measure "$fw" example-each "$round" /api/hello ;;
    example-warn) start_example "$fw" RUST_LOG=warn; measure "$fw" example-warn "$round" /api/hello ;;
  esac
  stop_server
}

for fw in ${FRAMEWORKS//,/ }; do
  for round in $(seq 1 "$ROUNDS"); do
    order="bench example example-each example-warn"
    [ $((round % 2)) -eq 0 ] && order="example-warn example-each example bench"
    for variant in $order; do run_variant "$fw" "$variant" "$round"; done
  done
done

if $TABLE; then
  python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if '"kind":"example"' in l]
print("| adapter | server | req/s (median) | p99 | ÷ bench server's guarded route (paired) |")
print("|-|-|-:|-:|-:|")
for fw in dict.fromkeys(r["adapter"] for r in runs):
    by = {}
    for r in runs:
        if r["adapter"] == fw:
            by.setdefault(r["variant"], {})[r["round"]] = r["wrk"]
    for variant in ["bench", "example", "example-each", "example-warn"]:
        rounds = by.get(variant, {})
        if not rounds:
            continue
        rps = statistics.median(w["rps"] for w in rounds.values())
        p99 = statistics.median(w["p99_us"] for w in rounds.values()) / 1000
        ratios = [rounds[k]["rps"] / by["bench"][k]["rps"] for k in rounds if k in by.get("bench", {})]
        ratio = f"{statistics.median(ratios):.2f}× ({' '.join(f'{x:.2f}' for x in ratios)})"
        print(f"| {fw} | {variant} | {rps:.0f} | {p99:.2f} ms | {ratio} |")
EOF
fi
