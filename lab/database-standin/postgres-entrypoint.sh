#!/bin/bash
# The berth lab's STAND-IN for the postgres image's entrypoint, on Debian's
# PostgreSQL 15 (no registry here to pull postgres from). It keeps the contract
# mysql-redis-compose relies on, as docker-library/postgres's
# docker-entrypoint.sh has it: when PGDATA is empty, initdb with
# POSTGRES_PASSWORD as the superuser's password (read from a file, never an
# argument), scram-sha-256 for every host, listen on all addresses, and
# POSTGRES_DB created; then the server runs as postgres with the arguments.
set -euo pipefail
if [ "${1:-}" = "" ] || [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
shift
PGDATA=${PGDATA:-/var/lib/postgresql/data}
bin=/usr/lib/postgresql/15/bin
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?the database is uninitialised and POSTGRES_PASSWORD is not set}"
  echo 'stand-in postgres: initialising PGDATA (Debian PostgreSQL 15)'
  pwfile=$(mktemp)
  chown postgres "$pwfile"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.auto.conf"
  db=${POSTGRES_DB:-postgres}
  if [ "$db" != postgres ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -k /run/postgresql" -w start >/dev/null
    runuser -u postgres -- "$bin/psql" -h /run/postgresql -U postgres -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\""
    runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
fi
# setpriv execs (runuser would stay as the parent): the server is PID 1 and gets docker stop's SIGTERM.
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA" -k /run/postgresql "$@"
