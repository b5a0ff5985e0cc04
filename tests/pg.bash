# pg.bash - a throw-away PostgreSQL server for tests: sourced by a .bats
# file, pg_start in setup_file, pg_stop in teardown_file.
# shellcheck shell=bash
# The variables set here are read by the .bats files that source it.
# shellcheck disable=SC2034
#
# pg_start runs initdb and pg_ctl as the postgres user on a data directory
# and a socket directory under a new temporary directory, listening on
# 127.0.0.1 on a free port, with trust authentication.  It sets PGHOST,
# PGPORT, PGUSER (postgres), PG_DIR and PG_URL (a postgresql:// URL of
# the database postgres), or PG_SKIP to the reason it could not start.

pg_bin() {
	local d
	# The highest version installed.
	while read -r d; do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done <<EOF
$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
EOF
	return 1
}

# Runs a command as the postgres user.
pg_as() {
	if command -v runuser >/dev/null; then
		runuser -u postgres -- "$@"
	else
		# The arguments are the inner shell's, on purpose.
		# shellcheck disable=SC2016
		su postgres -s /bin/sh -c '"$0" "$@"' -- "$@"
	fi
}

pg_free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
	local bin port i
	PG_SKIP=
	if ! bin=$(pg_bin); then
		PG_SKIP="PostgreSQL is not installed (make deps installs it)"
		return 0
	fi
	if ! id postgres >/dev/null 2>&1; then
		PG_SKIP="no postgres user to run the server as"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		PG_SKIP="the tests must run as root to start PostgreSQL as postgres"
		return 0
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/etl-pg.XXXXXX")
	chmod 755 "$PG_DIR"
	mkdir "$PG_DIR/data" "$PG_DIR/sock"
	chown -R postgres "$PG_DIR"
	chmod 700 "$PG_DIR/data"
	if ! pg_as "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
	    -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1; then
		PG_SKIP="initdb failed: $(tail -1 "$PG_DIR/initdb.log")"
		return 0
	fi
	# A port another test file may take between the probe and the start:
	# a few tries.
	for i in 1 2 3; do
		port=$(pg_free_port)
		if pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
		    -w -t 30 -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR/sock -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
		    start >/dev/null 2>&1; then
			PGHOST=127.0.0.1
			PGPORT=$port
			PGUSER=postgres
			PG_BIN=$bin
			PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
			export PGHOST PGPORT PGUSER
			return 0
		fi
	done
	PG_SKIP="the server did not start: $(tail -1 "$PG_DIR/server.log" 2>/dev/null)"
}

pg_stop() {
	local pid
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
	if [ -n "${PG_BIN:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 20 \
		    stop >/dev/null 2>&1 || :
	fi
	# Still there: the postmaster by its own PID, nothing else.
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pid=$(head -1 "$PG_DIR/data/postmaster.pid")
		case $pid in
		'' | *[!0-9]*) ;;
		*) kill -9 "$pid" 2>/dev/null || : ;;
		esac
	fi
	rm -rf "$PG_DIR"
}

# psql on the test server, quiet, unaligned, stopping at the first error.
pg_sql() {
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}
