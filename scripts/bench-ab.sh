#!/usr/bin/env bash
# A/B: one server configuration of scripts/bench.sh, built at two commits, measured in one run.
# Not part of CI. Both builds' servers run at once (different ports and Redis prefixes; an
# idle one costs nothing) and every route is loaded on one, then on the other, round after
# round, the order of builds and of routes reversed every other round; the ratios are paired
# (this round's new ÷ this round's old), so a slow spell of a shared machine hits both sides.
# About 6 minutes of load at 5 rounds, plus two release builds (the second reuses the
# first's dependencies): 15 to 30 minutes on 2 CPUs.
#
# Usage: scripts/bench-ab.sh --old REV [--new REV] [--framework axum|actix|rocket]
#                            [--config stateless|memory|sqlite|redis|redis-cached|postgres|postgres-cached]
#                            [--rounds N] [--append]
#   --old REV      the commit to compare against (e.g. the one before a change)
#   --new REV      the commit measured (default HEAD)
#   --config C     the server configuration of scripts/bench.sh (default redis); `-cached`:
#                  that store behind the session cache (--session-cache-ms 1000); the
#                  PostgreSQL ones need both builds to have `--store postgres`
#   --append       add the result to the comparisons section at the end of BENCHMARKS.md
#                  (kept when scripts/bench.sh rewrites the rest of the file)
# Environment: REDIS_URL (default redis://127.0.0.1:6379; must be on 127.0.0.1),
# DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test, running: start it with
# scripts/bench.sh or scripts/test.sh; schemas auth_ab_old_<uuid> and auth_ab_new_<uuid>,
# dropped afterwards), CARGO_TARGET_DIR (the builds go to $CARGO_TARGET_DIR/ab-<rev>;
# default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="scripts/bench-ab.sh${*:+ $*}"
OLD="" NEW=HEAD FW=axum CONFIG=redis ROUNDS=5 APPEND=false DURATION_S=10
while [ $# -gt 0 ]; do
  case $1 in
    --old) OLD=$2; shift ;;
    --new) NEW=$2; shift ;;
    --framework) FW=$2; shift ;;
    --config) CONFIG=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --append) APPEND=true ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$OLD" ] || { echo "--old REV is required (see --help)" >&2; exit 2; }
case $FW in axum|actix|rocket) ;; *) echo "--framework: axum, actix or rocket" >&2; exit 2 ;; esac
case $CONFIG in
  stateless|memory|sqlite|redis|redis-cached|postgres|postgres-cached) ;;
  *) echo "--config: stateless, memory, sqlite, redis, redis-cached, postgres or postgres-cached" >&2; exit 2 ;;
esac
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
case $REDIS_URL in
  redis://127.0.0.1:*|redis://localhost:*) ;;
  *) echo "REDIS_URL must be on 127.0.0.1: the benchmarks load nothing but loopback" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "wrk is needed (Debian: apt-get install wrk)" >&2; exit 2; }
OLD_REV=$(git rev-parse --short "$OLD^{commit}")
NEW_REV=$(git rev-parse --short "$NEW^{commit}")
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RUN=$(mktemp -d /tmp/auth-bench-ab.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for b in old new; do
    [ -x "$RUN/$b-bin" ] && "$RUN/$b-bin" redis-clear --redis-url "$REDIS_URL" --prefix "auth-bench-ab-$b:" >/dev/null 2>&1 || true
    case $CONFIG in
      postgres*) [ -x "$RUN/$b-bin" ] && "$RUN/$b-bin" pg-clear --prefix "auth_ab_${b}_" >/dev/null 2>&1 || true ;;
    esac
  done
  for b in old new; do git -C "$ROOT" worktree remove --force "$RUN/$b" >/dev/null 2>&1 || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
say() { printf '\n== %s\n' "$*" >&2; }

# ---- the two builds -------------------------------------------------------------------------
build() { # NAME REV
  local dir=$TARGET_DIR/ab-$2
  if [ ! -d "$dir" ] && [ -n "${SEED:-}" ] && [ -d "$SEED" ]; then cp -a "$SEED" "$dir"; fi
  git -C "$ROOT" worktree add -q --detach "$RUN/$1" "$2"
  say "building auth-bench at $2 (release, into $dir)"
  (cd "$RUN/$1" && CARGO_TARGET_DIR=$dir cargo build --locked --release -p auth-bench >&2)
  cp "$dir/release/auth-bench" "$RUN/$1-bin"
  SEED=$dir
}
build old "$OLD_REV"
build new "$NEW_REV"

# ---- both servers -------------------------------------------------------------------------
start() { # NAME PORT
  local args=(serve --framework "$FW" --port "$2" --fixture "$RUN/$1.lua" --sqlite-path "$RUN/$1.db"
    --redis-url "$REDIS_URL" --redis-prefix "auth-bench-ab-$1:" --chains 100 --phones 1000)
  # Flags an older build may lack are given only to the configurations that need them.
  case $CONFIG in
    stateless) args+=(--stateless --store memory) ;;
    postgres) args+=(--store postgres --pg-schema-prefix "auth_ab_$1_") ;;
    postgres-cached) args+=(--store postgres --pg-schema-prefix "auth_ab_$1_" --session-cache-ms 1000) ;;
    *-cached) args+=(--store "${CONFIG%-cached}" --session-cache-ms 1000) ;;
    *) args+=(--store "$CONFIG") ;;
  esac
  if curl -s -o /dev/null "http://127.0.0.1:$2/"; then echo "something already listens on 127.0.0.1:$2" >&2; exit 1; fi
  "$RUN/$1-bin" "${args[@]}" >"$RUN/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$2/bench/plain" && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$RUN/$1.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the $1 server did not answer within 120 s" >&2; exit 1
}
PORT_OLD=38181 PORT_NEW=38182
start old $PORT_OLD
start new $PORT_NEW
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

# ---- paired rounds --------------------------------------------------------------------------
RESULTS=$RUN/results.jsonl
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  order="plain raw guarded" builds="old new"
  if [ $((round % 2)) -eq 0 ]; then order="guarded raw plain" builds="new old"; fi
  for variant in $order; do
    for b in $builds; do
      port=$PORT_OLD; [ "$b" = new ] && port=$PORT_NEW
      line=$(BENCH_FIXTURE=$RUN/$b.lua BENCH_THREADS=2 BENCH_WRK_DIR=$ROOT/bench/wrk \
        wrk -t2 -c50 -d"${DURATION_S}s" --timeout 10s --latency -s "$ROOT/bench/wrk/get.lua" \
        "http://127.0.0.1:$port/bench/$variant" | sed -n 's/^RESULT //p')
      [ -n "$line" ] || { echo "wrk gave no result ($b, $variant)" >&2; exit 1; }
      printf '{"build":"%s","round":%d,"variant":"%s","wrk":%s}\n' "$b" "$round" "$variant" "$line" >>"$RESULTS"
      printf '  %-3s round %d %-8s %s req/s\n' "$b" "$round" "$variant" \
        "$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' <<<"$line")" >&2
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ------------------------------------------------------------------------------
REPORT=$RUN/report.md
python3 - "$RESULTS" "$OLD_REV" "$NEW_REV" "$FW" "$CONFIG" "$COMMAND" "$DATE" "$LOAD_BEFORE" "$LOAD_AFTER" \
  "$(nproc)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" >"$REPORT" <<'PY'
import json, statistics, sys
results, old, new, fw, config, command, date, load_before, load_after, nproc, cpu = sys.argv[1:]
rows = [json.loads(l) for l in open(results)]
rounds = sorted({r["round"] for r in rows})
rps = {(r["build"], r["round"], r["variant"]): r["wrk"]["rps"] for r in rows}
def med(xs): return statistics.median(xs)
def rng(xs): return f"{min(xs):.2f}–{max(xs):.2f}"
if config == "stateless":
    what = "stateless"
elif config.endswith("-cached"):
    what = "session check on " + config.removesuffix("-cached") + " behind the session cache"
else:
    what = "session check on " + config
print(f"### {fw}, {what}: `{new}` against `{old}`")
print()
print(f"`{command}`, {date}, {nproc} CPUs ({cpu}), load average before {load_before}, after {load_after}; "
      f"`wrk -t2 -c50 -d10s`, {len(rounds)} paired rounds. Medians of the rounds; paired ratios with their range.")
print()
print("| route | old req/s | new req/s | new ÷ old (paired) | old ÷ raw decode | new ÷ raw decode |")
print("|-|-:|-:|-:|-:|-:|")
for v in ("plain", "raw", "guarded"):
    o = [rps[("old", r, v)] for r in rounds]; n = [rps[("new", r, v)] for r in rounds]
    ratio = [rps[("new", r, v)] / rps[("old", r, v)] for r in rounds]
    oraw = [rps[("old", r, v)] / rps[("old", r, "raw")] for r in rounds]
    nraw = [rps[("new", r, v)] / rps[("new", r, "raw")] for r in rounds]
    name = {"plain": "unguarded", "raw": "raw `jsonwebtoken::decode`", "guarded": "our `AuthUser`"}[v]
    print(f"| {name} | {med(o):.0f} | {med(n):.0f} | {med(ratio):.3f} ({rng(ratio)}) | "
          f"{med(oraw):.2f} ({rng(oraw)}) | {med(nraw):.2f} ({rng(nraw)}) |")
PY
cat "$REPORT"
if $APPEND; then
  MARKER='<!-- comparisons: kept across runs of scripts/bench.sh -->'
  if ! grep -qF "$MARKER" BENCHMARKS.md; then
    printf '\n%s\n\n## A/B comparisons\n\nEach by `scripts/bench-ab.sh`: one configuration of section 2 built at two commits, both servers up at once and loaded in turn, round after round (the order of builds and of routes reversed every other round). Kept here when `scripts/bench.sh` rewrites the rest of the file.\n' "$MARKER" >>BENCHMARKS.md
  fi
  { echo; cat "$REPORT"; } >>BENCHMARKS.md
  say "appended to BENCHMARKS.md"
fi
