#!/usr/bin/env bash
# Runs every test of the workspace, starting what the tests need first, then the bounded
# fuzzing and reliability runs (about 10 minutes more on 2 CPUs once built).
# This is the one test command the README gives and the one .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Redis, for store-redis's tests and the example servers': start one when nothing answers on
# 127.0.0.1:6379.
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
if ! redis_up; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null
  fi
  redis-server --daemonize yes --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "redis did not start" >&2; exit 1; }
fi
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

# A local Redis Cluster for store-redis's cluster tests (six nodes on 7101-7106; does nothing
# when a healthy one already answers there). The failover test starts its own on 7201-7209.
./scripts/redis-cluster.sh start
export REDIS_CLUSTER_URLS="${REDIS_CLUSTER_URLS:-$(./scripts/redis-cluster.sh urls)}"

# PostgreSQL, for store-postgres's tests and the example servers' smoke tests (installed and
# started when absent; database `test`).
DATABASE_URL="$(./scripts/postgres-up.sh)"
export DATABASE_URL

cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

# The bounded reliability runs (RELIABILITY.md has the longer commands): every fuzz target for
# 30 s from its seed corpus (installs cargo-fuzz when absent), then the faults under load and
# the soak against the example server (its own Redis to kill; a tmpfs for the full disk).
./scripts/fuzz.sh --seconds "${AUTH_FUZZ_SECONDS:-30}"
./scripts/reliability.sh --quick
