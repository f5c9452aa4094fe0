#!/usr/bin/env bash
# with-postgres.sh CMD [ARGS...]
#
# Runs CMD with a real PostgreSQL on loopback, made by initdb in a temporary
# directory and stopped afterwards. CMD sees
#   BCLOGOUT_PG_URL   postgres://bclogout@127.0.0.1:PORT/bclogout?sslmode=disable
#   BCLOGOUT_PG_CTL   a script that takes stop or start and does that to the
#                     server, for the tests of an outage
# A BCLOGOUT_PG_URL already set by the caller is kept and no server is started
# (give BCLOGOUT_PG_CTL too, or the outage test skips, and fails under CI).
# Without initdb (on PATH or under /usr/lib/postgresql/*/bin, where Debian
# puts it) it runs CMD as is: the PostgreSQL tests then skip, except under
# CI=true, where they fail. initdb refuses to run as root, so as root the
# server runs as the postgres user (runuser).
set -euo pipefail

if [ -n "${BCLOGOUT_PG_URL:-}" ]; then
	exec "$@"
fi

bin=""
if command -v initdb >/dev/null 2>&1; then
	bin=$(dirname "$(readlink -f "$(command -v initdb)")")
else
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { bin=$d; break; }
	done
fi
if [ -z "$bin" ]; then
	echo "with-postgres: initdb not found; PostgreSQL tests will skip (CI fails them)" >&2
	exec "$@"
fi

as=()
if [ "$(id -u)" = 0 ]; then
	as=(runuser -u postgres --)
fi

dir=$(mktemp -d)
chmod 755 "$dir"
data="$dir/data"
mkdir -p "$data"
[ ${#as[@]} -gt 0 ] && chown -R postgres "$dir"

pgctl() { "${as[@]}" "$bin/pg_ctl" -D "$data" "$@"; }
cleanup() {
	pgctl stop -m immediate >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
	python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 30000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

"${as[@]}" "$bin/initdb" -D "$data" -U bclogout --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
	cat "$dir/initdb.log" >&2
	exit 1
}
port=$(free_port)
# fsync off: the data is thrown away, and the tests' commits are faster.
opts="-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
pgctl -o "$opts" -l "$dir/server.log" -w start >/dev/null || {
	cat "$dir/server.log" >&2
	exit 1
}
"${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U bclogout bclogout

export BCLOGOUT_PG_URL="postgres://bclogout@127.0.0.1:$port/bclogout?sslmode=disable"
# The outage tests stop the server and start it again with the same options.
cat >"$dir/pgctl" <<SH
#!/bin/sh
case "\$1" in
stop) exec ${as[*]} "$bin/pg_ctl" -D "$data" -m fast -w stop ;;
start) exec ${as[*]} "$bin/pg_ctl" -D "$data" -o "$opts" -l "$dir/server.log" -w start ;;
*) echo "usage: pgctl stop|start" >&2; exit 2 ;;
esac
SH
chmod 755 "$dir/pgctl"
export BCLOGOUT_PG_CTL="$dir/pgctl"
echo "with-postgres: BCLOGOUT_PG_URL=$BCLOGOUT_PG_URL" >&2
"$@"
