#!/usr/bin/env bash
# Faults under load and soak runs against the example server (examples/axum-server), on
# loopback only, each bounded in time; see RELIABILITY.md for what each one promises.
#
#   redis-outage   its own redis-server SIGKILLed, then SIGSTOPped, under load: 503
#                  store_unavailable during the outage, 200 again within 2 s, no restart
#   postgres-outage  its own PostgreSQL (initdb + pg_ctl on a free port) stopped at once and
#                  started again, its connections terminated, then SIGSTOPped, under the same
#                  load: 503 during the outage, at most one 503 per cut pooled connection,
#                  200 again within 2 s, no restart
#   sqlite-crash   the server SIGKILLed mid-stream on SQLite, several times: no acknowledged
#                  write lost, PRAGMA integrity_check ok
#   disk-full      the SQLite file on a small tmpfs (needs root or CAP_SYS_ADMIN) filled up:
#                  503 not 500, reads go on, integrity ok, recovery without restart
#   soak           a fixed rate of every flow on SQLite, then on Redis, RSS sampled: 100
#                  req/s for 60 s each with --quick (a debug server on 2 CPUs keeps 100, not
#                  always 200), 200 req/s for 600 s each with --full
#
# Usage: scripts/reliability.sh [--quick | --full] [--release]
#   --quick    (default; what CI runs) debug build, 60 s soaks, 5 kills; about 5 minutes
#              on 2 CPUs once the workspace's debug build is there
#   --full     release build, 600 s soaks, 20 kills, longer outages; about 30 minutes
#   --release  a release build for --quick too
# Needs redis-server and PostgreSQL's server programs (initdb, pg_ctl; both installed from
# Debian's packages when missing) and, for disk-full, root.
# Each scenario prints a JSON line and a summary; all JSON lines also go to
# $CARGO_TARGET_DIR/auth-reliability/<time>.jsonl. Exits non-zero when any promise broke.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=quick
RELEASE=false
while [ $# -gt 0 ]; do
  case $1 in
    --quick) MODE=quick ;;
    --full) MODE=full; RELEASE=true ;;
    --release) RELEASE=true ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server" >&2
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql" >&2
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null
fi

TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if $RELEASE; then PROFILE_DIR=release; BUILD=(--release); else PROFILE_DIR=debug; BUILD=(); fi
started=$(date +%s)
cargo build --locked "${BUILD[@]}" -p example-axum -p auth-reliability
BIN=$TARGET_DIR/$PROFILE_DIR/auth-reliability
RESULTS_DIR=$TARGET_DIR/auth-reliability
mkdir -p "$RESULTS_DIR"
RESULTS=$RESULTS_DIR/$(date -u +%Y%m%dT%H%M%SZ)-$MODE.jsonl
echo "build: $(( $(date +%s) - started )) s"

if [ "$MODE" = full ]; then
  SCENARIOS=(
    "redis-outage --clients 48 --kill-secs 6 --stop-secs 8 --after-secs 8"
    "postgres-outage --clients 48 --down-secs 6 --freeze-secs 8 --after-secs 8"
    "sqlite-crash --kills 20"
    "disk-full --failures 300"
    "soak --duration 600 --password-per-min 30"
  )
else
  SCENARIOS=(
    "redis-outage"
    "postgres-outage"
    "sqlite-crash"
    "disk-full"
    "soak --duration 60 --rate 100"
  )
fi

failed=()
for scenario in "${SCENARIOS[@]}"; do
  echo
  echo "### auth-reliability $scenario"
  t0=$(date +%s)
  # shellcheck disable=SC2086 # the scenario's words are its arguments
  if "$BIN" --json-out "$RESULTS" $scenario; then
    echo "### ${scenario%% *}: passed in $(( $(date +%s) - t0 )) s"
  else
    echo "### ${scenario%% *}: FAILED after $(( $(date +%s) - t0 )) s"
    failed+=("${scenario%% *}")
  fi
done

echo
echo "results: $RESULTS"
echo "total: $(( $(date +%s) - started )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
echo "every promise held"
