#!/usr/bin/env bash
# The guarded route against the raw-decode route only, for some adapters and server
# configurations of scripts/bench.sh, in paired rounds: a quick re-measure of the guard
# targets (e.g. on a quiet machine) without the hour of the whole run. Not part of CI.
# Uses the release auth-bench that scripts/bench.sh builds (built here when absent).
#
# Usage: scripts/bench-guard.sh [--frameworks axum,actix,rocket] [--configs redis-cached,postgres-cached]
#                               [--rounds N] [--append]
#   --append   add the table to the comparisons section at the end of BENCHMARKS.md (kept
#              when scripts/bench.sh rewrites the rest of the file)
# Environment: REDIS_URL (default redis://127.0.0.1:6379), DATABASE_URL (default: the local
# server of scripts/postgres-up.sh), BENCH_PORT (default 38090), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="scripts/bench-guard.sh${*:+ $*}"
FRAMEWORKS=axum,actix,rocket CONFIGS=redis-cached,postgres-cached ROUNDS=3 APPEND=false
while [ $# -gt 0 ]; do
  case $1 in
    --frameworks) FRAMEWORKS=$2; shift ;;
    --configs) CONFIGS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --append) APPEND=true ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
DATABASE_URL="$(./scripts/postgres-up.sh)"
export DATABASE_URL
PORT=${BENCH_PORT:-38090}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/auth-bench
[ -x "$BIN" ] || cargo build --locked --release -p auth-bench
RUN=$(mktemp -d /tmp/auth-bench-guard.XXXXXX)
SERVER=""
stop_server() { [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; SERVER=""; }
cleanup() {
  stop_server
  "$BIN" redis-clear --redis-url "$REDIS_URL" --prefix auth-bench-guard: >/dev/null 2>&1 || true
  "$BIN" pg-clear --prefix auth_guard_ >/dev/null 2>&1 || true
  rm -rf "$RUN"
}
trap cleanup EXIT
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
ROWS=()
for fw in ${FRAMEWORKS//,/ }; do
  for config in ${CONFIGS//,/ }; do
    args=(serve --framework "$fw" --port "$PORT" --fixture "$RUN/fixture.lua" --sqlite-path "$RUN/http.db"
      --redis-url "$REDIS_URL" --redis-prefix auth-bench-guard: --pg-schema-prefix auth_guard_
      --chains 100 --phones 1000)
    case $config in
      stateless) args+=(--stateless --store memory) ;;
      *-cached) args+=(--store "${config%-cached}" --session-cache-ms 1000) ;;
      *) args+=(--store "$config") ;;
    esac
    "$BIN" "${args[@]}" >"$RUN/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 600); do
      curl -fs -o /dev/null "http://127.0.0.1:$PORT/bench/plain" && break
      kill -0 "$SERVER" 2>/dev/null || { cat "$RUN/server.log" >&2; exit 1; }
      sleep 0.2
    done
    ratios=()
    for round in $(seq 1 "$ROUNDS"); do
      order="raw guarded"; [ $((round % 2)) -eq 0 ] && order="guarded raw"
      declare -A rps=()
      for variant in $order; do
        line=$(BENCH_FIXTURE=$RUN/fixture.lua BENCH_THREADS=2 BENCH_WRK_DIR=$ROOT/bench/wrk \
          wrk -t2 -c50 -d10s --timeout 10s --latency -s "$ROOT/bench/wrk/get.lua" \
          "http://127.0.0.1:$PORT/bench/$variant" | sed -n 's/^RESULT //p')
        rps[$variant]=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' <<<"$line")
        [ -n "${rps[$variant]}" ] || { echo "wrk gave no result ($fw $config $variant)" >&2; exit 1; }
      done
      ratios+=("$(awk -v g="${rps[guarded]}" -v r="${rps[raw]}" 'BEGIN { printf "%.2f", g / r }')")
      printf '  %s %s round %d: raw %.0f, guarded %.0f req/s, ratio %s\n' "$fw" "$config" "$round" \
        "${rps[raw]}" "${rps[guarded]}" "${ratios[-1]}" >&2
      unset rps
    done
    stop_server
    median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    ROWS+=("| $fw | $config | $median× | ${ratios[*]} |")
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
TABLE=$RUN/table.md
{
  printf '\n### Guarded ÷ raw decode (%s)\n\n' "$DATE"
  printf '`%s` at %s, %s CPUs; load average before %s, after %s. `wrk -t2 -c50 -d10s` per run,\n' \
    "$COMMAND" "$(git rev-parse --short HEAD)" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER"
  printf 'the two routes back to back in each round (order reversed every other round); the ratio is\n'
  printf "each round's guarded req/s ÷ its raw-decode req/s.\n\n"
  printf '| adapter | configuration | guarded ÷ raw decode (median) | per round |\n|-|-|-:|-|\n'
  printf '%s\n' "${ROWS[@]}"
} >"$TABLE"
cat "$TABLE"
if $APPEND; then
  marker='<!-- comparisons: kept across runs of scripts/bench.sh -->'
  grep -qF "$marker" BENCHMARKS.md || printf '\n## A/B comparisons\n\n%s\n' "$marker" >>BENCHMARKS.md
  cat "$TABLE" >>BENCHMARKS.md
  echo "appended to BENCHMARKS.md" >&2
fi
