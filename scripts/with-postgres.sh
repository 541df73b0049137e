#!/usr/bin/env bash
# with-postgres.sh CMD [ARG...]: run CMD with a throwaway PostgreSQL server.
#
# The server is initialised into a temporary folder with the newest Debian
# PostgreSQL binaries (/usr/lib/postgresql/*/bin, or GRANTOR_PG_BINDIR),
# listens on a Unix socket in that folder only (no TCP port), and holds one
# database, "grantor". CMD runs with GRANTOR_TEST_POSTGRES set to its DSN.
# Afterwards the server is stopped and the folder deleted, whether CMD
# passed, failed or was interrupted. The script exits with CMD's status, or
# non-zero when the server cannot be started, so CI fails rather than skips.
#
# When run as root (CI), the server runs as the "postgres" system user
# (initdb refuses root), or as a throwaway system user when there is none.
#
# When GRANTOR_TEST_POSTGRES is already set, CMD runs against that server
# and none is started.
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi

if [ -n "${GRANTOR_TEST_POSTGRES:-}" ]; then
	echo "with-postgres: using the server of GRANTOR_TEST_POSTGRES"
	exec "$@"
fi

bindir=${GRANTOR_PG_BINDIR:-}
if [ -z "$bindir" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "with-postgres: no PostgreSQL found (no initdb under ${GRANTOR_PG_BINDIR:-/usr/lib/postgresql/*/bin})." \
		"Install it with \`apt-get install postgresql\` (\`make test\` does it when it can)," \
		"set GRANTOR_PG_BINDIR to its bin folder, or skip the PostgreSQL tests explicitly:" \
		"make test GRANTOR_SKIP_POSTGRES=1" >&2
	exit 1
fi

dir=
started=
created_user=
cleanup() {
	local status=$? t
	if [ -n "$started" ]; then
		t=$(date +%s%N)
		as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
		echo "with-postgres: server stopped in $((($(date +%s%N) - t) / 1000000)) ms"
	fi
	[ -z "$dir" ] || rm -rf "$dir"
	if [ -n "$created_user" ]; then
		userdel "$created_user" >/dev/null 2>&1 || true
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# as CMD...: run CMD as the server's user.
if [ "$(id -u)" -eq 0 ]; then
	pguser=postgres
	if ! id -u "$pguser" >/dev/null 2>&1; then
		pguser=grantor-pg-$$
		useradd --system --no-create-home --shell /usr/sbin/nologin "$pguser"
		created_user=$pguser
	fi
	as() { runuser -u "$pguser" -- "$@"; }
else
	pguser=$(id -un)
	as() { "$@"; }
fi

# The folder must be reachable by the server's user: keep TMPDIR unset or
# world-traversable.
dir=$(mktemp -d "${TMPDIR:-/tmp}/grantor-pg.XXXXXX")
chmod 700 "$dir"
[ "$(id -u)" -ne 0 ] || chown "$pguser" "$dir"

t0=$(date +%s%N)
if ! as "$bindir/initdb" -D "$dir/data" -U "$pguser" -A trust -E UTF8 --no-locale --no-sync \
	>"$dir/initdb.log" 2>&1; then
	echo "with-postgres: initdb failed:" >&2
	cat "$dir/initdb.log" >&2
	exit 1
fi
# No TCP, a socket in the folder; durability is not needed for tests.
started=1
if ! as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
	-o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
	start >/dev/null; then
	echo "with-postgres: the server did not start:" >&2
	cat "$dir/server.log" >&2 || true
	exit 1
fi
if ! as "$bindir/createdb" -h "$dir" -U "$pguser" grantor; then
	echo "with-postgres: createdb failed" >&2
	exit 1
fi
t1=$(date +%s%N)
echo "with-postgres: PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') ready in $(((t1 - t0) / 1000000)) ms"

export GRANTOR_TEST_POSTGRES="postgres:///grantor?host=$dir&user=$pguser"
# CMD runs in the background so that a signal to this script is handled at
# once (bash defers traps until a foreground command ends): it is passed on
# to CMD, and the server stopped.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; exit 130' INT
trap 'kill -TERM "$child" 2>/dev/null; exit 143' TERM
status=0
wait "$child" || status=$?
exit "$status"
