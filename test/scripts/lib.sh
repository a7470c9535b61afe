# shellcheck shell=bash
# Shared helpers for test/scripts/*.sh. Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# All messages go to stderr so that callers can capture a script's stdout
# (which carries only its result, e.g. a bootstrap list or a URL).

# Prefix used in messages; scripts may set it before sourcing.
: "${REELAY_LOG_PREFIX:=reelay}"

log() {
	printf '%s: %s\n' "$REELAY_LOG_PREFIX" "$*" >&2
}

die() {
	printf '%s: error: %s\n' "$REELAY_LOG_PREFIX" "$*" >&2
	exit 1
}

# now_s prints seconds since the epoch.
now_s() {
	date +%s
}

# abs_path PATH prints PATH made absolute (the path need not exist).
abs_path() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$PWD" "$1" ;;
	esac
}

# port_open PORT [HOST]: true when something accepts TCP connections there.
port_open() {
	local port=$1 host=${2:-127.0.0.1}
	if command -v timeout >/dev/null 2>&1; then
		# shellcheck disable=SC2016 # expanded by the inner bash
		timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
	else
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
	fi
}

# port_in_use PORT: true when any local socket uses PORT (listening or not),
# or, without ss, when something accepts connections on it.
port_in_use() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hant "( sport = :$port )" 2>/dev/null)" ]
	else
		port_open "$port"
	fi
}

# pick_free_ports N prints N distinct free TCP ports, one a line. They are
# drawn at random below the kernel's ephemeral range, so that a port is not
# handed to an outgoing connection while its server is stopped and restarted.
pick_free_ports() {
	local want=$1 lo=20000 hi=32000 eph_lo port tries=0
	local -a got=()
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range || true
		if [ -n "${eph_lo:-}" ] && [ "$eph_lo" -gt 12000 ]; then
			hi=$((eph_lo - 1))
			lo=$((hi - 12000))
			[ "$lo" -ge 10000 ] || lo=10000
		fi
	fi
	while [ "${#got[@]}" -lt "$want" ]; do
		tries=$((tries + 1))
		[ "$tries" -le 2000 ] || die "could not find $want free ports in $lo-$hi"
		port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
		case " ${got[*]-} " in *" $port "*) continue ;; esac
		port_in_use "$port" && continue
		got+=("$port")
	done
	printf '%s\n' "${got[@]}"
}

# pid_alive PID: true when PID exists and is not a zombie.
pid_alive() {
	local pid=$1 state
	[ -n "$pid" ] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	if [ -r "/proc/$pid/stat" ]; then
		# Field 3 of /proc/PID/stat is the state; Z means zombie.
		state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)
		[ "$state" != Z ] || return 1
	fi
	return 0
}

# pid_cmdline_has PID TEXT: true when PID's command line contains TEXT
# (protects against killing an unrelated process that reused a stale pid).
pid_cmdline_has() {
	local pid=$1 text=$2
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -F -- "$text" >/dev/null
}

# wait_pid_exit PID SECONDS: poll until PID is gone; false on timeout.
wait_pid_exit() {
	local pid=$1 secs=$2 deadline
	deadline=$(($(now_s) + secs))
	while pid_alive "$pid"; do
		[ "$(now_s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
	return 0
}
