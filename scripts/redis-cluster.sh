#!/usr/bin/env bash
# A local Redis Cluster for store-redis's cluster tests: N `redis-server --cluster-enabled yes`
# nodes (default 6: 3 masters, 1 replica each) on consecutive ports from --base-port (default
# 7101), each in /var/tmp/redis-cluster-<base port>/<port>, without persistence.
#
#   scripts/redis-cluster.sh start  [--base-port N] [--nodes N] [--replicas N]
#   scripts/redis-cluster.sh stop   [--base-port N] [--nodes N]
#   scripts/redis-cluster.sh status [--base-port N] [--nodes N]
#   scripts/redis-cluster.sh urls   [--base-port N] [--nodes N]   (REDIS_CLUSTER_URLS's value)
#
# `start` is idempotent: when a healthy cluster (cluster_state:ok on every node) already
# answers on those ports it does nothing; otherwise it stops whatever runs there, wipes the
# node directories and creates the cluster anew (`redis-cli --cluster create`), then waits
# until every node reports cluster_state:ok. Exits non-zero when that does not happen.
set -euo pipefail

command="${1:-}"
[ $# -gt 0 ] && shift
base=7101
nodes=6
replicas=1
while [ $# -gt 0 ]; do
  case "$1" in
    --base-port) base="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --replicas) replicas="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
root="/var/tmp/redis-cluster-$base"
ports=$(seq "$base" $((base + nodes - 1)))

cli() { timeout 5 redis-cli -p "$1" "${@:2}"; }

# Every node answers and reports cluster_state:ok with all 16384 slots assigned.
healthy() {
  local port
  for port in $ports; do
    cli "$port" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_state:ok$' || return 1
    cli "$port" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_slots_assigned:16384$' || return 1
  done
}

stop() {
  local port
  for port in $ports; do
    if [ -f "$root/$port/redis.pid" ]; then
      kill -9 "$(cat "$root/$port/redis.pid")" 2>/dev/null || true
      rm -f "$root/$port/redis.pid"
    fi
    # A node started by hand on the port, or one whose pid file is gone.
    cli "$port" shutdown nosave >/dev/null 2>&1 || true
  done
}

start() {
  if healthy; then
    echo "redis cluster on ports $base..$((base + nodes - 1)) is up"
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null
  fi
  stop
  rm -rf "$root"
  local port
  for port in $ports; do
    mkdir -p "$root/$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
      --dir "$root/$port" --pidfile "$root/$port/redis.pid" --logfile "$root/$port/redis.log" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --save "" --appendonly no
  done
  for port in $ports; do
    for _ in $(seq 1 50); do cli "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    cli "$port" ping >/dev/null 2>&1 || { echo "redis node $port did not start" >&2; exit 1; }
  done
  local addresses=()
  for port in $ports; do addresses+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$replicas" --cluster-yes >"$root/create.log" 2>&1 \
    || { cat "$root/create.log" >&2; exit 1; }
  for _ in $(seq 1 100); do healthy && break; sleep 0.2; done
  healthy || { echo "redis cluster on ports $base.. did not reach cluster_state:ok" >&2; exit 1; }
  echo "redis cluster on ports $base..$((base + nodes - 1)) started"
}

urls() {
  local port out=""
  for port in $ports; do out="${out:+$out,}redis://127.0.0.1:$port"; done
  echo "$out"
}

case "$command" in
  start) start ;;
  stop) stop; rm -rf "$root"; echo "redis cluster on ports $base.. stopped" ;;
  status)
    if healthy; then echo "ok"; else echo "down"; exit 1; fi ;;
  urls) urls ;;
  *) echo "usage: $0 start|stop|status|urls [--base-port N] [--nodes N] [--replicas N]" >&2; exit 2 ;;
esac
