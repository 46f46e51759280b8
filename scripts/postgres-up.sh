#!/usr/bin/env bash
# Makes sure a PostgreSQL answers on 127.0.0.1:5432 with a database `test`, and prints the
# URL to reach it (DATABASE_URL when set, else the local server's). Installs Debian's
# postgresql when absent (store-postgres's outage tests and the reliability runs also need its
# initdb and pg_ctl), starts the cluster when nothing answers, and on a fresh Debian cluster
# (which wants a password over TCP) gives the postgres role one. Used by scripts/test.sh and
# scripts/bench.sh:  export DATABASE_URL="$(./scripts/postgres-up.sh)"
set -euo pipefail

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  echo "installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq postgresql >/dev/null
fi
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_up; then
  pg_version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start >&2 2>/dev/null \
    || { $SUDO pg_createcluster "$pg_version" main >/dev/null \
         && $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start >&2; }
  for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
  pg_up || { echo "postgresql did not start" >&2; exit 1; }
fi
pg_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if [ -z "${DATABASE_URL:-}" ] && ! psql "${pg_url%/*}/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; then
  # This machine's cluster trusts 127.0.0.1; a fresh one does not: set a password as the
  # postgres OS user over the local socket.
  $SUDO runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD 'postgres'" >/dev/null
  pg_url="postgres://postgres:postgres@127.0.0.1:5432/test"
fi
if ! psql "${pg_url%/*}/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
  psql "${pg_url%/*}/postgres" -qc 'CREATE DATABASE test' >&2
fi
printf '%s\n' "$pg_url"
