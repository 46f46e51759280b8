#!/usr/bin/env bash
# What batching commits could win on PostgreSQL: refresh rotations and SMS logins at -c16
# against `auth-bench serve --store postgres` with the server's defaults
# (`synchronous_commit = on`: a commit returns once its WAL is flushed) and with
# `synchronous_commit = off` for the store's connections (no commit waits for a flush: the
# upper bound of any group commit of ours), in paired rounds. PostgreSQL already flushes the
# WAL of concurrent commits together; if `off` is not faster, the flush is not what bounds
# these flows and a group commit in the store would not speed them up. Not part of CI.
#
# Usage: scripts/bench-pg-commit.sh [--rounds N] [--seconds S] [--framework axum]
# Environment: DATABASE_URL (default: the local server of scripts/postgres-up.sh),
# BENCH_PORT (default 38096), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=3 SECONDS_PER_RUN=10 FW=axum
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --framework) FW=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
DATABASE_URL="$(./scripts/postgres-up.sh)"
PORT=${BENCH_PORT:-38096}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/auth-bench
[ -x "$BIN" ] || cargo build --locked --release -p auth-bench
RUN=$(mktemp -d /tmp/auth-bench-pg-commit.XXXXXX)
SERVER=""
stop_server() { [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; SERVER=""; }
trap 'stop_server; "$BIN" pg-clear --prefix auth_pgcommit_ >/dev/null 2>&1 || true; rm -rf "$RUN"' EXIT
case $DATABASE_URL in *\?*) SEP='&' ;; *) SEP='?' ;; esac
OFF_URL="${DATABASE_URL}${SEP}options=-c%20synchronous_commit%3Doff"

# run MODE ROUND: one server with synchronous_commit MODE, refresh then SMS logins.
run() {
  local mode=$1 round=$2 url=$DATABASE_URL
  [ "$mode" = off ] && url=$OFF_URL
  rm -f "$RUN/fixture.lua"
  DATABASE_URL=$url "$BIN" serve --framework "$FW" --port "$PORT" --fixture "$RUN/fixture.lua" \
    --sqlite-path "$RUN/http.db" --pg-schema-prefix auth_pgcommit_ --chains 100 --phones 1000 \
    --store postgres >"$RUN/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/bench/plain" && [ -s "$RUN/fixture.lua" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$RUN/server.log" >&2; exit 1; }
    sleep 0.2
  done
  for flow in refresh sms; do
    local path=/api/auth/refresh
    [ "$flow" = sms ] && path=/api/auth/login
    BENCH_FIXTURE=$RUN/fixture.lua BENCH_THREADS=2 BENCH_WRK_DIR=$ROOT/bench/wrk \
      wrk -t2 -c16 -d"${SECONDS_PER_RUN}s" --timeout 10s --latency -s "$ROOT/bench/wrk/$flow.lua" \
      "http://127.0.0.1:$PORT$path" >"$RUN/wrk.log" 2>&1 || true
    sed -n "s/^RESULT /$mode $round $flow /p" "$RUN/wrk.log" >>"$RUN/results"
  done
  stop_server
  "$BIN" pg-clear --prefix auth_pgcommit_ >/dev/null 2>&1 || true
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then run on "$round"; run off "$round"; else run off "$round"; run on "$round"; fi
done
echo "scripts/bench-pg-commit.sh --rounds $ROUNDS --seconds $SECONDS_PER_RUN --framework $FW, $(date -u '+%Y-%m-%d %H:%M UTC'), load before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); wrk -t2 -c16"
python3 - "$RUN/results" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mode, round_, flow, body = line.split(" ", 3)
    w = json.loads(body)
    per_sec = w["ok"] / (w["duration_us"] / 1e6)
    rows.setdefault(flow, {}).setdefault(mode, {})[int(round_)] = (per_sec, w["p50_us"], w["non2xx"])
print("| flow | synchronous_commit = on: per s | p50 | off: per s | p50 | off ÷ on (paired rounds) |")
print("|-|-:|-:|-:|-:|-:|")
for flow, name in [("refresh", "refresh rotations"), ("sms", "SMS logins")]:
    on, off = rows[flow]["on"], rows[flow]["off"]
    ratios = [off[r][0] / on[r][0] for r in on if r in off and on[r][0] > 0]
    med = lambda d, i: statistics.median(v[i] for v in d.values())
    print(f"| {name} | {med(on,0):.0f} | {med(on,1)/1000:.2f} ms | {med(off,0):.0f} | {med(off,1)/1000:.2f} ms | "
          f"{statistics.median(ratios):.2f}× ({' '.join(f'{x:.2f}' for x in ratios)}) |")
EOF
