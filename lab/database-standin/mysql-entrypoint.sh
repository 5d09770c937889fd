#!/bin/bash
# The berth lab's STAND-IN for the mysql:5.7 image's entrypoint, on Debian's
# MariaDB (no registry here to pull mysql:5.7 from). It keeps the contract
# mysql-redis-compose relies on, as docker-library/mysql's docker-entrypoint.sh
# has it: MYSQL_ROOT_PASSWORD from the environment sets root's password (for
# root@localhost and root@%) when /var/lib/mysql is first initialised, and
# arguments that start with '-' are options to mysqld. The password never
# reaches a command line: SQL goes on standard input, mysqladmin reads MYSQL_PWD.
set -euo pipefail
if [ "${1:-}" = "" ] || [ "${1#-}" != "$1" ]; then set -- mysqld "$@"; fi
if [ "$1" != mysqld ]; then exec "$@"; fi
shift
datadir=/var/lib/mysql
# As mysql:5.7 is configured: listening on every address, the server's own
# character set defaults (Debian's config binds 127.0.0.1 and sets utf8mb4,
# whose collation then clashes with --character-set-server=utf8).
sed -i -E '/^(bind-address|character-set-server|collation-server)[[:space:]]*=/d' /etc/mysql/mariadb.conf.d/50-server.cnf
mkdir -p "$datadir" /run/mysqld
chown mysql:mysql "$datadir" /run/mysqld
if [ ! -d "$datadir/mysql" ]; then
  : "${MYSQL_ROOT_PASSWORD:?the database is uninitialised and MYSQL_ROOT_PASSWORD is not set}"
  echo 'stand-in mysql: initialising /var/lib/mysql (MariaDB)'
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=socket >/dev/null
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  for _ in $(seq 60); do mariadb-admin --socket=/run/mysqld/init.sock -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
  pw=${MYSQL_ROOT_PASSWORD//\\/\\\\}
  pw=${pw//\'/\\\'}
  mariadb --socket=/run/mysqld/init.sock -uroot <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';
CREATE USER 'root'@'%' IDENTIFIED BY '$pw';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb-admin --socket=/run/mysqld/init.sock -uroot shutdown
  wait "$pid" || true
fi
exec mariadbd --user=mysql --datadir="$datadir" "$@"
