#!/usr/bin/env bash
# Usage: test/scripts/postgres.sh COMMAND [DIR]
#
# A private, throwaway PostgreSQL server on 127.0.0.1 for tests (no Docker).
#
#   install     install the server binaries with apt-get if they are missing
#               (Debian: /usr/lib/postgresql/<ver>/bin); a no-op otherwise
#   up [DIR]    initdb a cluster in DIR (trust auth, loopback only, fsync off,
#               max_connections=200), start it, create database reelay_test and
#               print postgres://postgres@127.0.0.1:PORT/reelay_test?sslmode=disable
#               (also written to DIR/url). If DIR's server already runs, just
#               prints the URL; a stopped one is started again with its data.
#   url [DIR]   print the URL of DIR's server (fails unless it runs)
#   down [DIR]  pg_ctl stop -m fast (kill -9 if that fails) and remove DIR;
#               fine when nothing runs or DIR is missing
#
# DIR defaults to ${TMPDIR:-/tmp}/reelay-pg. As root the server runs as the
# OS user postgres (it refuses root), so DIR's parent must be traversable by it.
# Only the result goes to stdout; progress goes to stderr. Server log:
# DIR/postgres.log.
#
# Environment:
#   REELAY_PG_PORT   port to listen on (default: a free one)
#   REELAY_PG_BIN    directory with initdb/pg_ctl/postgres (default: newest
#                    /usr/lib/postgresql/*/bin, else pg_ctl's dir on PATH)
#   REELAY_PG_DB     database to create (default reelay_test)
#   REELAY_PG_FORCE_INSTALL=1  make install run apt-get even if binaries exist
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REELAY_LOG_PREFIX=postgres.sh
# shellcheck source=SCRIPTDIR/lib.sh
. "$SCRIPT_DIR/lib.sh"

TMP_ROOT=${TMPDIR:-/tmp}
TMP_ROOT=${TMP_ROOT%/}
DEFAULT_DIR=$TMP_ROOT/reelay-pg
DB=${REELAY_PG_DB:-reelay_test}
MARKER=.reelay-pg
PG_OS_USER=postgres

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# pg_bindir: print the directory holding the server binaries, or fail.
pg_bindir() {
	local d p
	if [ -n "${REELAY_PG_BIN:-}" ]; then
		[ -x "$REELAY_PG_BIN/pg_ctl" ] || return 1
		printf '%s\n' "$REELAY_PG_BIN"
		return
	fi
	d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
		printf '%s\n' "$d"
		return
	fi
	p=$(command -v pg_ctl 2>/dev/null) || return 1
	d=$(dirname "$(readlink -f "$p")")
	[ -x "$d/initdb" ] && [ -x "$d/postgres" ] || return 1
	printf '%s\n' "$d"
}

# as_pg CMD...: run CMD as the postgres OS user when we are root.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run as $PG_OS_USER"
		runuser -u "$PG_OS_USER" -- "$@"
	else
		"$@"
	fi
}

# postmaster_pid DIR: the pid in DIR's postmaster.pid, if any.
postmaster_pid() {
	head -n 1 "$1/data/postmaster.pid" 2>/dev/null || true
}

# pg_running DIR: DIR's postmaster is alive (not a zombie: pg_ctl status
# counts one that init has not reaped yet) and accepts connections.
pg_running() {
	local pid port
	pid=$(postmaster_pid "$1")
	port=$(cat "$1/port" 2>/dev/null || true)
	[ -n "$pid" ] && [ -n "$port" ] && pid_alive "$pid" || return 1
	"$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres
}

url_for() {
	printf 'postgres://postgres@127.0.0.1:%s/%s?sslmode=disable\n' "$1" "$DB"
}

cmd_install() {
	local sudo=""
	if [ "${REELAY_PG_FORCE_INSTALL:-}" != 1 ] && pg_bindir >/dev/null; then
		log "PostgreSQL server binaries found in $(pg_bindir)"
		return
	fi
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install postgresql"
		sudo=sudo
	fi
	command -v apt-get >/dev/null 2>&1 || die "no apt-get; install the PostgreSQL server by hand"
	# Do not let the package create and start a default cluster on port 5432.
	$sudo mkdir -p /etc/postgresql-common/createcluster.d
	echo 'create_main_cluster = false' |
		$sudo tee /etc/postgresql-common/createcluster.d/reelay-no-main-cluster.conf >/dev/null
	log "apt-get install postgresql"
	$sudo apt-get update -qq >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
	pg_bindir >/dev/null || die "postgresql installed, but no server binaries found"
	log "PostgreSQL server binaries in $(pg_bindir)"
}

cmd_up() {
	local dir=$1 data port sockdir t0 deadline url pid
	dir=$(abs_path "$dir")
	data=$dir/data
	t0=$(now_s)
	BIN=$(pg_bindir) || die "no PostgreSQL server binaries; run '$0 install'"

	if [ -f "$dir/$MARKER" ] && pg_running "$dir"; then
		log "PostgreSQL already running in $dir"
		cat "$dir/url"
		return
	fi
	if [ ! -f "$dir/$MARKER" ] && [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		die "$dir exists, is not empty and was not made by postgres.sh; refusing to use it"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		id "$PG_OS_USER" >/dev/null 2>&1 || die "no OS user '$PG_OS_USER' to run the server as"
	fi

	mkdir -p "$dir"
	touch "$dir/$MARKER"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_OS_USER:" "$dir"
		as_pg test -w "$dir" ||
			die "user $PG_OS_USER cannot write $dir (is a parent dir private?); use another DIR or TMPDIR"
	fi

	if [ -f "$data/PG_VERSION" ]; then
		port=$(cat "$dir/port")
		log "starting existing cluster in $data on port $port"
	else
		port=${REELAY_PG_PORT:-$(pick_free_ports 1)}
		log "initdb $data ($("$BIN/postgres" --version))"
		as_pg "$BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C \
			--no-sync >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			die "initdb failed"
		}
		# Unix socket inside DIR, unless the path would be too long for one.
		sockdir=$dir
		[ "${#sockdir}" -le 90 ] || sockdir=""
		as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF

# ---- added by reelay test/scripts/postgres.sh (test server, not durable) ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
EOF
		as_pg tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# Written by reelay test/scripts/postgres.sh: trust, loopback only.
local all all trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
EOF
		printf '%s\n' "$port" >"$dir/port"
	fi

	pid=$(postmaster_pid "$dir")
	if [ -n "$pid" ] && ! pid_alive "$pid"; then
		log "removing stale $data/postmaster.pid (pid $pid is gone)"
		rm -f "$data/postmaster.pid" "$dir"/.s.PGSQL.*
	elif [ -n "$pid" ]; then
		die "postmaster $pid of $dir runs but does not accept connections (log: $dir/postgres.log)"
	fi
	if port_in_use "$port"; then
		die "port $port is already in use (set REELAY_PG_PORT or run '$0 down $dir')"
	fi
	as_pg "$BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null || {
		tail -n 20 "$dir/postgres.log" >&2 || true
		die "pg_ctl start failed (log: $dir/postgres.log)"
	}

	deadline=$(($(now_s) + 60))
	until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; do
		[ "$(now_s)" -lt "$deadline" ] || die "server on port $port not ready after 60s"
		sleep 0.2
	done

	if [ -z "$("$BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
		"$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB"
	fi

	url=$(url_for "$port")
	printf '%s\n' "$url" >"$dir/url"
	log "PostgreSQL up in $dir in $(($(now_s) - t0))s"
	printf '%s\n' "$url"
}

cmd_url() {
	local dir
	dir=$(abs_path "$1")
	BIN=$(pg_bindir) || die "no PostgreSQL server binaries; run '$0 install'"
	if [ ! -f "$dir/$MARKER" ] || ! pg_running "$dir"; then
		die "no PostgreSQL running in $dir"
	fi
	cat "$dir/url"
}

cmd_down() {
	local dir data pid
	dir=$(abs_path "$1")
	data=$dir/data
	if [ ! -e "$dir" ]; then
		log "nothing in $dir"
		return
	fi
	[ -f "$dir/$MARKER" ] || die "$dir was not made by postgres.sh; refusing to remove it"
	if [ -f "$data/postmaster.pid" ]; then
		BIN=$(pg_bindir) || BIN=""
		if [ -z "$BIN" ] || ! as_pg "$BIN/pg_ctl" -D "$data" stop -m fast -w -t 30 >/dev/null 2>&1; then
			pid=$(postmaster_pid "$dir")
			if [ -n "$pid" ] && pid_alive "$pid" && pid_cmdline_has "$pid" "$data"; then
				log "pg_ctl stop failed; kill -9 $pid"
				kill -KILL "$pid" 2>/dev/null || true
				wait_pid_exit "$pid" 10 || log "postmaster $pid does not die"
			fi
		fi
	fi
	rm -rf "$dir"
	log "down: removed $dir"
}

BIN=""
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
install) cmd_install ;;
up) cmd_up "${1:-$DEFAULT_DIR}" ;;
url) cmd_url "${1:-$DEFAULT_DIR}" ;;
down) cmd_down "${1:-$DEFAULT_DIR}" ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
