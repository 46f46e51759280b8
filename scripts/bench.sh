#!/usr/bin/env bash
# Every benchmark of the project, then BENCHMARKS.md rewritten from this run's results.
# Not part of CI; runs on a fresh Debian machine (it installs wrk, curl and, when nothing
# answers on 127.0.0.1:6379, redis-server; when nothing answers on 127.0.0.1:5432,
# postgresql, whose cluster it starts). All load stays on 127.0.0.1 and every run is bounded
# in time. About 70 minutes on 2 CPUs.
#
#   1. auth-core's criterion micro-benchmarks (cargo bench -p auth-core --bench core);
#   2. per adapter (axum, actix, rocket), `wrk -t2 -c50 -d10s --latency`: an unguarded route,
#      a route guarded by a hand-written jsonwebtoken::decode and one guarded by AuthUser,
#      stateless and with the session check on MemoryStore, SQLite, Redis and PostgreSQL, on
#      Redis and PostgreSQL also behind the session cache (`redis-cached`, `postgres-cached`:
#      --session-cache-ms 1000, the example servers' default); refresh rotation and the whole
#      SMS login (start + verify) on each store (not behind the cache, which neither flow
#      reads); the example servers as shipped beside the bench server's guarded route
#      (scripts/bench-examples.sh); then the same three routes called in process
#      (auth-bench in-process: no socket, interleaved rounds);
#   3. the guarded route's p99 with and without password logins at full load beside it;
#   4. authenticate and refresh with 1 000 vs 1 000 000 sessions in each store (filling SQLite
#      takes about 3 minutes of it); bytes per session.
#
# Usage: scripts/bench.sh [--rounds N] [--scale-counts LIST] [--quick] [--no-wait]
#   --rounds N         rounds of the three route variants per server (default 5; medians, paired ratios)
#   --scale-counts L   session counts of the scale test, ascending (default: 1000,1000000)
#   --quick            2 s runs, short criterion runs, small scale counts: checks the script,
#                      not the numbers
#   --no-wait          measure at once, even while the machine is busy
# Environment: BENCH_PORT (default 38080), REDIS_URL (default redis://127.0.0.1:6379),
# DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; each server and scale run
# works in a schema auth_bench_<uuid> of its own, dropped afterwards), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="scripts/bench.sh${*:+ $*}"

SCALE_COUNTS=1000,1000000
DURATION_S=10
ROUNDS=5
QUICK=false
WAIT=true
NOTES=()
while [ $# -gt 0 ]; do
  case $1 in
    --scale-counts) SCALE_COUNTS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --quick) QUICK=true; DURATION_S=2; ROUNDS=2; SCALE_COUNTS=1000,10000 ;;
    --no-wait) WAIT=false ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
$QUICK && NOTES+=(--note "Quick run (--quick): 2 s load runs, short criterion runs, small scale counts. For checking the script only; do not compare these figures.")

PORT=${BENCH_PORT:-38080}
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
case $REDIS_URL in
  redis://127.0.0.1:*|redis://localhost:*) ;;
  *) echo "REDIS_URL must be on 127.0.0.1: the benchmarks load nothing but loopback" >&2; exit 2 ;;
esac
REDIS_PORT=${REDIS_URL##*:}; REDIS_PORT=${REDIS_PORT%%/*}
if [ -n "${DATABASE_URL:-}" ]; then
  case $DATABASE_URL in
    postgres://127.0.0.1[:/]*|postgres://localhost[:/]*|postgres://*@127.0.0.1[:/]*|postgres://*@localhost[:/]*|postgresql://127.0.0.1[:/]*|postgresql://localhost[:/]*|postgresql://*@127.0.0.1[:/]*|postgresql://*@localhost[:/]*) ;;
    *) echo "DATABASE_URL must be on 127.0.0.1: the benchmarks load nothing but loopback" >&2; exit 2 ;;
  esac
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/auth-bench
LOGS=$TARGET_DIR/auth-bench/$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$LOGS/results.jsonl
RUN_DIR=$(mktemp -d /tmp/auth-bench.XXXXXX)
mkdir -p "$LOGS"
: >"$RESULTS"

say() { printf '\n== %s\n' "$*" >&2; }

# ---- 1. what it uses -------------------------------------------------------------------
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@" >/dev/null
}
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then say "installing ${missing[*]}"; apt_install "${missing[@]}"; fi

redis_up() { (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
if ! redis_up; then
  command -v redis-server >/dev/null 2>&1 || { say "installing redis-server"; apt_install redis-server; }
  # The package may have started its own service on 6379.
  redis_up || redis-server --daemonize yes --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "redis did not start" >&2; exit 1; }
fi

# PostgreSQL: installed and started when absent, database `test` (scripts/postgres-up.sh).
# Read by `auth-bench serve`, `scale` and `pg-clear` (never on their command line: it may
# hold a password).
DATABASE_URL="$(./scripts/postgres-up.sh)"
export DATABASE_URL

# ---- 2. build everything first, so the measured run compiles nothing ----------------------
say "building (release)"
cargo build --locked --release -p auth-bench -p example-axum -p example-actix -p example-rocket
cargo bench --locked -p auth-core --bench core --no-run
cargo build --locked --release -p store-sqlite --example session_size
cargo test --locked -p store-redis --test memory_usage --no-run

# ---- the server under load -----------------------------------------------------------------
SERVER_PID=""
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  stop_server
  "$BIN" redis-clear --redis-url "$REDIS_URL" --prefix auth-bench: >/dev/null 2>&1 || true
  "$BIN" pg-clear --prefix auth_bench_ >/dev/null 2>&1 || true
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# start_server FRAMEWORK CONFIG: CONFIG is `stateless` (MemoryStore, access.stateless), a
# store (session check on), or `redis-cached` / `postgres-cached` (that store behind the
# session cache, 1 s as in the example servers).
start_server() {
  local fw=$1 config=$2 store=$2
  local args=(serve --framework "$fw" --port "$PORT" --fixture "$RUN_DIR/fixture.lua"
    --sqlite-path "$RUN_DIR/http.db" --redis-url "$REDIS_URL" --redis-prefix auth-bench:
    --pg-schema-prefix auth_bench_ --chains 100 --phones 1000)
  case $config in
    stateless) store=memory; args+=(--stateless) ;;
    *-cached) store=${config%-cached}; args+=(--session-cache-ms 1000) ;;
  esac
  args+=(--store "$store")
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "something already listens on 127.0.0.1:$PORT (set BENCH_PORT)" >&2; exit 1
  fi
  rm -f "$RUN_DIR/fixture.lua"
  "$BIN" "${args[@]}" >"$LOGS/server-$fw-$config.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    if curl -fs -o /dev/null "http://127.0.0.1:$PORT/bench/plain"; then
      export BENCH_FIXTURE=$RUN_DIR/fixture.lua
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$LOGS/server-$fw-$config.log" >&2; echo "the $fw server exited" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "the $fw server did not answer within 120 s" >&2; exit 1
}

# wrk_run NAME SCRIPT PATH [THREADS CONNECTIONS SECONDS]: prints wrk's RESULT json.
wrk_run() {
  local name=$1 script=$2 path=$3 t=${4:-2} c=${5:-50} d=${6:-$DURATION_S}
  BENCH_THREADS=$t BENCH_WRK_DIR=$ROOT/bench/wrk \
    wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s --latency -s "$ROOT/bench/wrk/$script.lua" \
    "http://127.0.0.1:$PORT$path" >"$LOGS/wrk-$name.log" 2>&1 || true
  wrk_result "$name"
}
wrk_result() {
  local line
  line=$(sed -n 's/^RESULT //p' "$LOGS/wrk-$1.log")
  if [ -z "$line" ]; then cat "$LOGS/wrk-$1.log" >&2; echo "wrk gave no result for $1" >&2; exit 1; fi
  printf '%s' "$line"
}
field() { sed -n "s/.*\"$2\":\\([0-9.]*\\).*/\\1/p" <<<"$1"; }
show() {
  awk -v name="$1" -v rps="$(field "$2" rps)" -v p50="$(field "$2" p50_us)" \
    -v p99="$(field "$2" p99_us)" -v bad="$(field "$2" non2xx)" -v ok="$(field "$2" ok)" \
    -v us="$(field "$2" duration_us)" 'BEGIN {
      printf "  %-32s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %d", name, rps, p50 / 1000, p99 / 1000, bad
      if (ok > 0) printf "  (%.0f completed/s)", ok / (us / 1e6)
      printf "\n" }' >&2
}

# ---- quiet machine ----------------------------------------------------------------------------
load() { cut -d' ' -f1-3 /proc/loadavg; }
if $WAIT; then
  for minute in $(seq 0 10); do
    if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l < 1.5) }'; then break; fi
    if [ "$minute" -eq 10 ]; then
      NOTES+=(--note "The 1-minute load average was still $(load | cut -d' ' -f1) after 10 minutes of waiting for it to drop below 1.5: other work shared the CPUs during this run, so absolute figures are low; ratios within the run are less affected.")
      break
    fi
    say "load average $(load) (want < 1.5): waiting a minute ($minute/10)"
    sleep 60
  done
fi
LOAD_BEFORE=$(load)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
START_EPOCH=$(date +%s)

# ---- 1. core micro-benchmarks ----------------------------------------------------------------
say "criterion: cargo bench -p auth-core --bench core"
CRITERION_ARGS=()
$QUICK && CRITERION_ARGS=(-- --warm-up-time 1 --measurement-time 2)
cargo bench --locked -p auth-core --bench core "${CRITERION_ARGS[@]}" 2>&1 | tee "$LOGS/criterion.log" >&2

# ---- 2 and 3. HTTP load per adapter ------------------------------------------------------------
for fw in axum actix rocket; do
  for config in stateless memory sqlite redis redis-cached postgres postgres-cached; do
    say "$fw, $config"
    start_server "$fw" "$config"
    # The three routes back to back, ROUNDS times, the order reversed every other round (the
    # raw route always in the middle): the report pairs each round's runs, so a slow spell of
    # the machine hits both figures of a ratio, and neither route always runs first.
    for round in $(seq 1 "$ROUNDS"); do
      order="plain raw guarded"
      [ $((round % 2)) -eq 0 ] && order="guarded raw plain"
      for variant in $order; do
        r=$(wrk_run "$fw-$config-$variant-$round" get "/bench/$variant")
        printf '{"kind":"http","adapter":"%s","config":"%s","variant":"%s","round":%d,"wrk":%s}\n' \
          "$fw" "$config" "$variant" "$round" "$r" >>"$RESULTS"
        show "$variant (round $round)" "$r"
      done
    done
    if [ "$config" = stateless ]; then
      # The runtime stays free: the same guarded run with password logins at full load beside
      # it (8 connections keep every hashing permit busy), started first and ending last.
      BENCH_THREADS=1 BENCH_WRK_DIR=$ROOT/bench/wrk \
        wrk -t1 -c8 -d"$((DURATION_S + 3))s" --timeout 10s --latency \
        -s "$ROOT/bench/wrk/password.lua" "http://127.0.0.1:$PORT/api/auth/login" \
        >"$LOGS/wrk-$fw-free-logins.log" 2>&1 &
      logins_pid=$!
      sleep 1
      g=$(wrk_run "$fw-free-guarded" get /bench/guarded)
      wait "$logins_pid" || true
      l=$(wrk_result "$fw-free-logins")
      printf '{"kind":"free","adapter":"%s","guarded":%s,"logins":%s}\n' "$fw" "$g" "$l" >>"$RESULTS"
      show "guarded beside password logins" "$g"
      show "password logins" "$l"
    elif [ "${config%-cached}" = "$config" ]; then
      # Not behind the session cache: refresh and SMS logins never read a session check.
      r=$(wrk_run "$fw-$config-refresh" refresh /api/auth/refresh)
      printf '{"kind":"refresh","adapter":"%s","store":"%s","wrk":%s}\n' "$fw" "$config" "$r" >>"$RESULTS"
      show "refresh" "$r"
      s=$(wrk_run "$fw-$config-sms" sms /api/auth/login)
      printf '{"kind":"sms","adapter":"%s","store":"%s","wrk":%s}\n' "$fw" "$config" "$s" >>"$RESULTS"
      show "SMS login (start and verify)" "$s"
    fi
    stop_server
    # The server's schema (a server is stopped by a signal and cannot drop it itself).
    case $config in postgres*) "$BIN" pg-clear --prefix auth_bench_ >&2 ;; esac
  done
done

# ---- 2, the example servers as shipped, beside the bench server ------------------------------
say "the example servers as shipped (scripts/bench-examples.sh)"
BENCH_PORT=$PORT ./scripts/bench-examples.sh --rounds "$ROUNDS" --seconds "$DURATION_S" --results "$RESULTS"

# ---- 2, again: the same routes in process (no socket), interleaved round by round -------------
say "the route variants in process"
IN_PROCESS_ARGS=()
$QUICK && IN_PROCESS_ARGS=(--rounds 5)
"$BIN" in-process "${IN_PROCESS_ARGS[@]}" >>"$RESULTS" 2> >(tee "$LOGS/in-process.log" >&2)

# ---- 4. scale and bytes per session -----------------------------------------------------------
for store in memory sqlite redis postgres; do
  say "scale: $store, $SCALE_COUNTS sessions"
  "$BIN" scale --store "$store" --counts "$SCALE_COUNTS" --sqlite-path "$RUN_DIR/scale.db" \
    --redis-url "$REDIS_URL" --redis-prefix auth-bench: --pg-schema-prefix auth_bench_ \
    >>"$RESULTS" 2> >(tee "$LOGS/scale-$store.log" >&2)
done
if [ "${SCALE_COUNTS##*,}" != 1000000 ]; then
  NOTES+=(--note "Scale test at $SCALE_COUNTS sessions (--scale-counts), not the 1 000 000 of the default run.")
fi
say "bytes per session"
cargo run --locked --release -q -p store-sqlite --example session_size >"$LOGS/sqlite-size.log" 2>&1
cat "$LOGS/sqlite-size.log" >&2
cargo test --locked -q -p store-redis --test memory_usage -- --nocapture >"$LOGS/redis-size.log" 2>&1
grep -E "Redis|session|user" "$LOGS/redis-size.log" >&2 || true
LOAD_AFTER=$(load)

# ---- the report -------------------------------------------------------------------------------
redis_version=$( (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'INFO server\r\n' >&3 \
  && timeout 2 head -c 400 <&3) 2>/dev/null | sed -n 's/^redis_version:\([^\r]*\).*/\1/p')
pg_version=$(psql "$DATABASE_URL" -Atqc 'SHOW server_version' 2>/dev/null || true)
if git_rev=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD || git_rev="$git_rev (with uncommitted changes)"
else
  git_rev=unknown
fi
"$BIN" report --results "$RESULTS" --criterion-dir "$TARGET_DIR/criterion" --since "$START_EPOCH" \
  --sqlite-size-log "$LOGS/sqlite-size.log" --redis-size-log "$LOGS/redis-size.log" \
  --command="$COMMAND" --date "$DATE" --nproc "$(nproc)" \
  --cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
  --memory "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)" \
  --load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" \
  --wrk-args="-t2 -c50 -d${DURATION_S}s --latency" \
  --version-line "commit=$git_rev" --version-line "rustc=$(rustc --version)" \
  --version-line "wrk=$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)" \
  --version-line "Redis=${redis_version:-unknown}" \
  --version-line "PostgreSQL=${pg_version:-unknown}" \
  --version-line "raw logs=\`${LOGS#"$ROOT"/}\`" \
  "${NOTES[@]}" --out "$ROOT/BENCHMARKS.md"
say "done: BENCHMARKS.md (raw logs in $LOGS)"
