#!/usr/bin/env bash
# Refresh rotations and SMS logins on SQLite (synchronous = FULL, the default) for two builds
# of auth-bench, in paired rounds: e.g. the writer before and after a change (group commit).
# Each round, for each connection count, starts each build's server on a fresh file (the
# order of the builds alternates every round: a wrk run leaves the fixture's refresh tokens
# rotated, so every refresh run needs a fresh server) and runs wrk's refresh then SMS script,
# as scripts/bench.sh does (axum, --chains 100 --phones 1000; -t2, or -t1 at -c1). Prints one line per run, then per round the ratios
# new ÷ old of completed operations per second. Not part of CI.
#
# Usage: scripts/bench-sqlite-writes.sh OLD_BIN NEW_BIN [--rounds N] [--conns "16 1"]
#                                       [--seconds S] [--durability full|normal]
# Environment: BENCH_PORT (default 38095).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ $# -ge 2 ] || { sed -n '2,11p' "$0"; exit 2; }
OLD=$1 NEW=$2
shift 2
ROUNDS=3 CONNS="16 1" SECONDS_PER_RUN=10 DURABILITY=full
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --durability) DURABILITY=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
PORT=${BENCH_PORT:-38095}
RUN=$(mktemp -d /tmp/auth-bench-writes.XXXXXX)
SERVER=""
stop_server() {
  [ -n "$SERVER" ] || return 0
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=""
}
trap 'stop_server; rm -rf "$RUN"' EXIT

start_server() {
  local bin=$1
  rm -f "$RUN"/http.db* "$RUN/fixture.lua"
  "$bin" serve --framework axum --store sqlite --sqlite-durability "$DURABILITY" --port "$PORT" \
    --fixture "$RUN/fixture.lua" --sqlite-path "$RUN/http.db" --chains 100 --phones 1000 \
    >"$RUN/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/bench/plain" && return 0
    kill -0 "$SERVER" 2>/dev/null || { cat "$RUN/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the server did not answer" >&2; exit 1
}

# run SCRIPT PATH CONNS: prints "ok/s p50_ms p99_ms non2xx".
run() {
  local line
  line=$(BENCH_FIXTURE=$RUN/fixture.lua BENCH_THREADS=$(( $3 < 2 ? 1 : 2 )) BENCH_WRK_DIR=$ROOT/bench/wrk \
    wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency \
    -s "$ROOT/bench/wrk/$1.lua" "http://127.0.0.1:$PORT$2" | sed -n 's/^RESULT //p')
  [ -n "$line" ] || { echo "wrk gave no result" >&2; exit 1; }
  awk -v ok="$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$line")" \
    -v us="$(sed -n 's/.*"duration_us":\([0-9]*\).*/\1/p' <<<"$line")" \
    -v p50="$(sed -n 's/.*"p50_us":\([0-9.]*\).*/\1/p' <<<"$line")" \
    -v p99="$(sed -n 's/.*"p99_us":\([0-9.]*\).*/\1/p' <<<"$line")" \
    -v bad="$(sed -n 's/.*"non2xx":\([0-9]*\).*/\1/p' <<<"$line")" \
    'BEGIN { printf "%.0f %.2f %.2f %d", ok / (us / 1e6), p50 / 1000, p99 / 1000, bad }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; durability $DURABILITY" >&2
declare -A R=()
for round in $(seq 1 "$ROUNDS"); do
  order="old new"; [ $((round % 2)) -eq 0 ] && order="new old"
  for c in $CONNS; do
    for build in $order; do
      bin=$OLD; [ "$build" = new ] && bin=$NEW
      start_server "$bin"
      for flow in refresh sms; do
        path=/api/auth/refresh; [ "$flow" = sms ] && path=/api/auth/login
        r=$(run "$flow" "$path" "$c")
        R[$round,$build,$flow,$c]=$r
        read -r ops p50 p99 bad <<<"$r"
        printf 'round %d %-3s %-7s -c%-3s %8s ops/s  p50 %7s ms  p99 %7s ms  non-2xx %s\n' \
          "$round" "$build" "$flow" "$c" "$ops" "$p50" "$p99" "$bad"
      done
      stop_server
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "new ÷ old (completed ops/s), per round:"
for c in $CONNS; do
  for flow in refresh sms; do
    line="  $flow -c$c:"
    for round in $(seq 1 "$ROUNDS"); do
      old=${R[$round,old,$flow,$c]%% *} new=${R[$round,new,$flow,$c]%% *}
      line+=$(awk -v o="$old" -v n="$new" 'BEGIN { printf " %.2f", (o > 0) ? n / o : 0 }')
    done
    echo "$line"
  done
done
