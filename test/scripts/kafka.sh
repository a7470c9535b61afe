#!/usr/bin/env bash
# Usage: test/scripts/kafka.sh COMMAND [ARGS]
#
# Runs Apache Kafka 4.x KRaft nodes (combined broker+controller) on 127.0.0.1
# without Docker, from the jars that kafka-fetch.sh caches (fetched on demand).
#
#   up-single [DIR]     one node; prints 127.0.0.1:PORT (also in DIR/bootstrap)
#   up-cluster [DIR]    three nodes, three voters, RF 3 / min ISR 2; prints
#                       127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3 (also DIR/bootstrap)
#   up-single-secure [DIR]
#                       one node whose only client listener is SASL_SSL: a CA,
#                       a broker and a client certificate are made for this run
#                       (openssl, in DIR/tls), the broker requires a client
#                       certificate signed by that CA (ssl.client.auth=required)
#                       and accepts PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for
#                       one user with a random password (SCRAM credentials made
#                       by kafka-storage format --add-scram). Prints KEY=VALUE
#                       lines (also DIR/secure.env): BROKERS, CA_FILE,
#                       CERT_FILE, KEY_FILE, USER, PASSWORD. The controller
#                       listener stays PLAINTEXT on loopback.
#   stop-node DIR N     SIGTERM node N (1-based) and wait for it to exit
#   kill-node DIR N     kill -9 node N and wait for it to be gone
#   start-node DIR N    start node N again (same config, ports and data) and
#                       wait until it is up; prints 127.0.0.1:PORT of node N
#   status [DIR]        one line per node: N PORT running|stopped
#   tool CLASS [ARGS]   run a Kafka tool class on the cached classpath with a
#                       quiet log config, e.g.: tool org.apache.kafka.tools.TopicCommand
#                       --bootstrap-server "$(cat DIR/bootstrap)" --create --topic t
#   down [DIR]          stop all nodes of DIR (SIGTERM, up to 30 s, then kill -9)
#                       and remove DIR; fine when nothing runs or DIR is missing;
#                       without DIR: the three default dirs
#
# DIR defaults to ${TMPDIR:-/tmp}/reelay-kafka-single for up-single, to
# ${TMPDIR:-/tmp}/reelay-kafka-cluster for up-cluster and to
# ${TMPDIR:-/tmp}/reelay-kafka-secure for up-single-secure; for status, to the
# single one. up-* on a DIR whose nodes still run just prints
# the bootstrap list again. Only the result goes to stdout; progress to stderr.
# Per node: DIR/node-N/{server.properties,run.sh,kafka.pid,data/}, its
# stdout+stderr in DIR/node-N/server.log (WARN and up), its log4j2 INFO log in
# DIR/node-N/kafka.log.
#
# Environment:
#   REELAY_KAFKA_HOME           use this Kafka home (with libs/, config/) instead
#                               of running kafka-fetch.sh
#   REELAY_KAFKA_START_TIMEOUT  seconds to wait for nodes to start (default 90)
#   REELAY_KAFKA_STOP_TIMEOUT   seconds stop-node waits before kill -9 (default 60)
#   REELAY_KAFKA_DOWN_TIMEOUT   seconds down waits before kill -9 (default 30)
#   REELAY_KAFKA_HEAP_OPTS      default "-Xmx512m -Xms256m"
#   REELAY_KAFKA_JVM_OPTS       extra JVM options, appended
#   REELAY_KAFKA_EXTRA_PROPS    extra server.properties lines (newline separated),
#                               appended to every node's config (last one wins)
#   JAVA                        java executable (default: java)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REELAY_LOG_PREFIX=kafka.sh
# shellcheck source=SCRIPTDIR/lib.sh
. "$SCRIPT_DIR/lib.sh"

JAVA=${JAVA:-java}
START_TIMEOUT=${REELAY_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${REELAY_KAFKA_STOP_TIMEOUT:-60}
DOWN_TIMEOUT=${REELAY_KAFKA_DOWN_TIMEOUT:-30}
HEAP_OPTS=${REELAY_KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
TMP_ROOT=${TMPDIR:-/tmp}
TMP_ROOT=${TMP_ROOT%/}
DEFAULT_SINGLE_DIR=$TMP_ROOT/reelay-kafka-single
DEFAULT_CLUSTER_DIR=$TMP_ROOT/reelay-kafka-cluster
DEFAULT_SECURE_DIR=$TMP_ROOT/reelay-kafka-secure
SASL_USER=reelay
MARKER=.reelay-kafka
STARTED_RE='Kafka Server started|started \(kafka\.server\.KafkaRaftServer\)'

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# ---- state ---------------------------------------------------------------

# state_get DIR KEY: value of KEY in DIR/cluster.env (KEY=VALUE lines).
state_get() {
	local v
	v=$(sed -n "s/^$2=//p" "$1/cluster.env" 2>/dev/null | tail -n 1)
	[ -n "$v" ] || die "$1 is not a Kafka dir made by kafka.sh (no $2 in $1/cluster.env)"
	printf '%s\n' "$v"
}

node_dir() { printf '%s/node-%s\n' "$1" "$2"; }

node_pid() {
	local f
	f="$(node_dir "$1" "$2")/kafka.pid"
	if [ -f "$f" ]; then cat "$f"; fi
}

# node_running DIR N: the node's recorded pid is alive and is that node.
node_running() {
	local pid
	pid=$(node_pid "$1" "$2")
	[ -n "$pid" ] && pid_alive "$pid" && pid_cmdline_has "$pid" "$(node_dir "$1" "$2")/"
}

check_node_arg() {
	local dir=$1 n=$2 nodes
	[ -f "$dir/$MARKER" ] || die "$dir is not a Kafka dir made by kafka.sh"
	nodes=$(state_get "$dir" NODES)
	case "$n" in
	'' | *[!0-9]*) die "node number must be 1..$nodes, got '$n'" ;;
	esac
	if [ "$n" -lt 1 ] || [ "$n" -gt "$nodes" ]; then
		die "node number must be 1..$nodes, got $n"
	fi
}

# ---- setup ---------------------------------------------------------------

kafka_home() {
	local home
	if [ -n "${REELAY_KAFKA_HOME:-}" ]; then
		home=$REELAY_KAFKA_HOME
	else
		home=$("$SCRIPT_DIR/kafka-fetch.sh" | tail -n 1)
	fi
	[ -f "$home/libs/.complete" ] || die "no complete Kafka in $home (run kafka-fetch.sh)"
	[ -f "$home/config/log4j2.properties" ] || die "no log4j2 config in $home/config"
	printf '%s\n' "$home"
}

# random_cluster_id: 16 random bytes, URL-safe base64 without padding, as
# kafka.tools.StorageTool random-uuid makes (and, like it, no leading '-').
random_cluster_id() {
	local id
	while :; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
		case "$id" in -*) continue ;; esac
		printf '%s\n' "$id"
		return
	done
}

# write_node DIR N MODE: server.properties and run.sh for node N.
write_node() {
	local dir=$1 n=$2 mode=$3 nd home nodes voters="" i bport cport
	nd=$(node_dir "$dir" "$n")
	home=$(state_get "$dir" KAFKA_HOME)
	nodes=$(state_get "$dir" NODES)
	for i in $(seq 1 "$nodes"); do
		voters="${voters:+$voters,}$i@127.0.0.1:$(state_get "$dir" "CONTROLLER_PORT_$i")"
	done
	bport=$(state_get "$dir" "BROKER_PORT_$n")
	cport=$(state_get "$dir" "CONTROLLER_PORT_$n")
	mkdir -p "$nd/data"

	{
		echo "# Written by reelay test/scripts/kafka.sh ($mode, node $n of $nodes)."
		echo "process.roles=broker,controller"
		echo "node.id=$n"
		echo "controller.quorum.voters=$voters"
		if [ "$mode" = secure ]; then
			secure_props "$dir" "$bport" "$cport"
		else
			echo "listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport"
			echo "advertised.listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport"
			echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
			echo "inter.broker.listener.name=PLAINTEXT"
		fi
		echo "controller.listener.names=CONTROLLER"
		echo "log.dirs=$nd/data"
		echo "num.partitions=6"
		echo "auto.create.topics.enable=false"
		echo "delete.topic.enable=true"
		echo "group.initial.rebalance.delay.ms=0"
		echo "unclean.leader.election.enable=false"
		echo "num.recovery.threads.per.data.dir=1"
		echo "num.network.threads=2"
		echo "num.io.threads=4"
		# Faster fencing of a killed node and faster re-registration after a
		# kill -9 + restart (defaults: 2000 / 9000).
		echo "broker.heartbeat.interval.ms=1000"
		echo "broker.session.timeout.ms=6000"
		if [ "$mode" = cluster ]; then
			echo "default.replication.factor=3"
			echo "min.insync.replicas=2"
			echo "offsets.topic.replication.factor=3"
			echo "transaction.state.log.replication.factor=3"
			echo "transaction.state.log.min.isr=2"
			echo "share.coordinator.state.topic.replication.factor=3"
			echo "share.coordinator.state.topic.min.isr=2"
		else
			echo "default.replication.factor=1"
			echo "min.insync.replicas=1"
			echo "offsets.topic.replication.factor=1"
			echo "transaction.state.log.replication.factor=1"
			echo "transaction.state.log.min.isr=1"
			echo "share.coordinator.state.topic.replication.factor=1"
			echo "share.coordinator.state.topic.min.isr=1"
		fi
		if [ -n "${REELAY_KAFKA_EXTRA_PROPS:-}" ]; then
			echo "# REELAY_KAFKA_EXTRA_PROPS"
			printf '%s\n' "$REELAY_KAFKA_EXTRA_PROPS"
		fi
	} >"$nd/server.properties"
	# A secure node's config holds the test password (PLAIN's JAAS users).
	[ "$mode" != secure ] || chmod 600 "$nd/server.properties"

	local -a jvm_opts
	read -r -a jvm_opts <<<"$HEAP_OPTS ${REELAY_KAFKA_JVM_OPTS:-}"
	jvm_opts+=(
		-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
		-XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
		"-Dlog4j2.configurationFile=$home/config/log4j2.properties"
		"-Dkafka.logs.dir=$nd"
	)
	{
		echo '#!/usr/bin/env bash'
		echo "# Written by reelay test/scripts/kafka.sh: runs node $n in the foreground."
		printf 'exec %q' "$(command -v "$JAVA")"
		printf ' %q' "${jvm_opts[@]}" -cp "$home/libs/*" kafka.Kafka "$nd/server.properties"
		printf '\n'
	} >"$nd/run.sh"
	chmod +x "$nd/run.sh"
}

format_node() {
	local dir=$1 n=$2 nd home cid pw m
	local -a scram=()
	nd=$(node_dir "$dir" "$n")
	home=$(state_get "$dir" KAFKA_HOME)
	cid=$(state_get "$dir" CLUSTER_ID)
	if [ "$(state_get "$dir" MODE)" = secure ]; then
		# SCRAM credentials live in the cluster metadata: written at format.
		pw=$(state_get "$dir" SASL_PASSWORD)
		for m in SCRAM-SHA-256 SCRAM-SHA-512; do
			scram+=(--add-scram "$m=[name=$SASL_USER,password=$pw]")
		done
	fi
	# Static quorum (controller.quorum.voters), so no --standalone /
	# --initial-controllers: those are for dynamic quorums.
	"$JAVA" -Xmx256m "-Dlog4j2.configurationFile=$home/config/tools-log4j2.properties" \
		-cp "$home/libs/*" kafka.tools.StorageTool format \
		-t "$cid" -c "$nd/server.properties" "${scram[@]+"${scram[@]}"}" >"$nd/format.log" 2>&1 || {
		cat "$nd/format.log" >&2
		return 1
	}
}

# ---- SASL_SSL (up-single-secure) ------------------------------------------

# random_password: 24 random letters and digits (safe in JAAS and KEY=VALUE).
random_password() {
	local pw=""
	while [ "${#pw}" -lt 24 ]; do
		pw+=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	done
	printf '%s\n' "${pw:0:24}"
}

# make_certs DIR: a CA, a broker certificate for 127.0.0.1/localhost and a
# client certificate, all made for this run, in DIR/tls (PEM; the broker's
# keystore is its key followed by its chain, as Kafka's PEM keystore wants).
make_certs() {
	local t=$1/tls
	command -v openssl >/dev/null 2>&1 || die "openssl is needed for up-single-secure"
	mkdir -p "$t"
	chmod 700 "$t"
	(
		cd "$t"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 \
			-subj "/CN=reelay test CA $(basename "$1")" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		issue() { # NAME CN EXTENSIONS
			openssl req -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=$2"
			openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -days 2 \
				-set_serial "0x$(openssl rand -hex 8)" -out "$1.pem" -extfile <(printf '%s\n' "$3")
			rm -f "$1.csr"
		}
		issue broker 127.0.0.1 "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
		issue client "$SASL_USER" "extendedKeyUsage=clientAuth"
		cat broker-key.pem broker.pem ca.pem >broker-keystore.pem
	) >"$1/openssl.log" 2>&1 || {
		cat "$1/openssl.log" >&2
		die "openssl could not make the test certificates"
	}
	chmod 600 "$t"/*.pem
}

# secure_props DIR BROKER_PORT CONTROLLER_PORT: the listener lines of a
# SASL_SSL node (clients and inter-broker on SASL_SSL, controller PLAINTEXT).
secure_props() {
	local dir=$1 bport=$2 cport=$3 pw t=$1/tls
	pw=$(state_get "$dir" SASL_PASSWORD)
	echo "listeners=SASL_SSL://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport"
	echo "advertised.listeners=SASL_SSL://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport"
	echo "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
	echo "inter.broker.listener.name=SASL_SSL"
	echo "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
	echo "sasl.mechanism.inter.broker.protocol=PLAIN"
	echo "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" password=\"$pw\" user_broker=\"$pw\" user_$SASL_USER=\"$pw\";"
	echo "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
	echo "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
	echo "ssl.keystore.type=PEM"
	echo "ssl.keystore.location=$t/broker-keystore.pem"
	echo "ssl.truststore.type=PEM"
	echo "ssl.truststore.location=$t/ca.pem"
	# On a SASL_SSL listener only the listener-prefixed setting counts (KIP-684).
	echo "listener.name.sasl_ssl.ssl.client.auth=required"
	echo "ssl.endpoint.identification.algorithm=https"
}

# secure_env DIR: what clients need, as KEY=VALUE lines.
secure_env() {
	local dir=$1
	printf 'BROKERS=%s\n' "$(cat "$dir/bootstrap")"
	printf 'CA_FILE=%s\n' "$dir/tls/ca.pem"
	printf 'CERT_FILE=%s\n' "$dir/tls/client.pem"
	printf 'KEY_FILE=%s\n' "$dir/tls/client-key.pem"
	printf 'USER=%s\n' "$SASL_USER"
	printf 'PASSWORD=%s\n' "$(state_get "$dir" SASL_PASSWORD)"
}

# ---- process control ------------------------------------------------------

launch_node() {
	local dir=$1 n=$2 nd
	nd=$(node_dir "$dir" "$n")
	# Remember where this start's log lines begin, for the "started" check.
	if [ -f "$nd/kafka.log" ]; then
		wc -c <"$nd/kafka.log" | tr -d ' ' >"$nd/log.offset"
	else
		echo 0 >"$nd/log.offset"
	fi
	echo "==== $(date -u +%Y-%m-%dT%H:%M:%SZ) kafka.sh: starting node $n" >>"$nd/server.log"
	nohup "$nd/run.sh" >>"$nd/server.log" 2>&1 </dev/null &
	echo "$!" >"$nd/kafka.pid"
}

node_started() {
	local dir=$1 n=$2 nd off port
	nd=$(node_dir "$dir" "$n")
	port=$(state_get "$dir" "BROKER_PORT_$n")
	off=$(cat "$nd/log.offset" 2>/dev/null || echo 0)
	[ -f "$nd/kafka.log" ] || return 1
	# No grep -q: an early exit would SIGPIPE tail and fail the pipeline.
	tail -c +"$((off + 1))" "$nd/kafka.log" | grep -E "$STARTED_RE" >/dev/null || return 1
	port_open "$port"
}

show_node_logs() {
	local nd
	nd=$(node_dir "$1" "$2")
	log "---- node $2: tail of $nd/server.log"
	tail -n 20 "$nd/server.log" >&2 2>/dev/null || true
	log "---- node $2: errors in $nd/kafka.log"
	grep -E ' (ERROR|FATAL) ' "$nd/kafka.log" 2>/dev/null | tail -n 20 >&2 || true
}

# wait_nodes_up DIR N...: wait until every listed node has started.
wait_nodes_up() {
	local dir=$1 deadline n pending
	shift
	deadline=$(($(now_s) + START_TIMEOUT))
	pending=("$@")
	while [ "${#pending[@]}" -gt 0 ]; do
		local -a still=()
		for n in "${pending[@]}"; do
			# pid_alive, not node_running: between fork and exec the child's
			# command line is still kafka.sh's, not yet the node's.
			if ! pid_alive "$(node_pid "$dir" "$n")"; then
				show_node_logs "$dir" "$n"
				log "node $n exited while starting"
				return 1
			fi
			node_started "$dir" "$n" || still+=("$n")
		done
		pending=("${still[@]+"${still[@]}"}")
		[ "${#pending[@]}" -gt 0 ] || break
		if [ "$(now_s)" -ge "$deadline" ]; then
			for n in "${pending[@]}"; do show_node_logs "$dir" "$n"; done
			log "node(s) ${pending[*]} not up after ${START_TIMEOUT}s"
			return 1
		fi
		sleep 0.5
	done
}

# signal_node DIR N SIG: send SIG if the node runs; true if it did.
signal_node() {
	local pid
	node_running "$1" "$2" || return 1
	pid=$(node_pid "$1" "$2")
	kill "-$3" "$pid" 2>/dev/null
}

# ---- commands -----------------------------------------------------------

cmd_up() {
	local mode=$1 dir=$2 nodes home n cid bootstrap=""
	local -a all
	if [ "$mode" = cluster ]; then nodes=3; else nodes=1; fi
	dir=$(abs_path "$dir")

	if [ -f "$dir/$MARKER" ]; then
		local any=""
		for n in $(seq 1 "$(state_get "$dir" NODES)"); do
			node_running "$dir" "$n" && any=1
		done
		if [ -n "$any" ]; then
			[ "$(state_get "$dir" MODE)" = "$mode" ] ||
				die "$dir runs a Kafka $(state_get "$dir" MODE); run '$0 down $dir' first"
			log "Kafka ($mode) already running in $dir"
			mapfile -t all < <(seq 1 "$nodes")
			wait_nodes_up "$dir" "${all[@]}" || die "Kafka in $dir is not healthy; see logs above"
			if [ "$mode" = secure ]; then cat "$dir/secure.env"; else cat "$dir/bootstrap"; fi
			return
		fi
		rm -rf "$dir"
	elif [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		die "$dir exists, is not empty and was not made by kafka.sh; refusing to use it"
	fi

	home=$(kafka_home)
	mkdir -p "$dir"
	touch "$dir/$MARKER"
	cid=$(random_cluster_id)
	local -a ports
	mapfile -t ports < <(pick_free_ports $((2 * nodes)))
	touch "$dir/cluster.env"
	chmod 600 "$dir/cluster.env"
	{
		echo "MODE=$mode"
		echo "NODES=$nodes"
		echo "KAFKA_HOME=$home"
		echo "CLUSTER_ID=$cid"
		for n in $(seq 1 "$nodes"); do
			echo "BROKER_PORT_$n=${ports[$((2 * n - 2))]}"
			echo "CONTROLLER_PORT_$n=${ports[$((2 * n - 1))]}"
		done
		[ "$mode" != secure ] || echo "SASL_PASSWORD=$(random_password)"
	} >"$dir/cluster.env"
	[ "$mode" != secure ] || make_certs "$dir"
	for n in $(seq 1 "$nodes"); do
		bootstrap="${bootstrap:+$bootstrap,}127.0.0.1:$(state_get "$dir" "BROKER_PORT_$n")"
	done

	log "Kafka $(basename "$home") $mode in $dir (cluster id $cid), brokers $bootstrap"
	local -a fmt_pids=()
	for n in $(seq 1 "$nodes"); do
		write_node "$dir" "$n" "$mode"
		format_node "$dir" "$n" &
		fmt_pids+=("$!")
	done
	for n in "${fmt_pids[@]}"; do
		wait "$n" || die "formatting storage in $dir failed"
	done
	for n in $(seq 1 "$nodes"); do
		launch_node "$dir" "$n"
	done
	mapfile -t all < <(seq 1 "$nodes")
	if ! wait_nodes_up "$dir" "${all[@]}"; then
		for n in $(seq 1 "$nodes"); do signal_node "$dir" "$n" KILL || true; done
		die "Kafka did not start; logs kept in $dir (remove with '$0 down $dir')"
	fi
	printf '%s\n' "$bootstrap" >"$dir/bootstrap"
	log "Kafka up in $(($(now_s) - T0))s"
	if [ "$mode" = secure ]; then
		(umask 077 && secure_env "$dir" >"$dir/secure.env")
		cat "$dir/secure.env"
	else
		printf '%s\n' "$bootstrap"
	fi
}

# end_node DIR N SIG: SIGTERM waits up to STOP_TIMEOUT before kill -9; SIGKILL at once.
end_node() {
	local dir=$1 n=$2 sig=$3 pid
	check_node_arg "$dir" "$n"
	if ! node_running "$dir" "$n"; then
		log "node $n is not running"
		rm -f "$(node_dir "$dir" "$n")/kafka.pid"
		return
	fi
	pid=$(node_pid "$dir" "$n")
	kill "-$sig" "$pid" 2>/dev/null || true
	if [ "$sig" = TERM ] && ! wait_pid_exit "$pid" "$STOP_TIMEOUT"; then
		log "node $n (pid $pid) still running after ${STOP_TIMEOUT}s; kill -9"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait_pid_exit "$pid" 10 || die "node $n (pid $pid) does not die"
	rm -f "$(node_dir "$dir" "$n")/kafka.pid"
	log "node $n ended (SIG$sig)"
}

cmd_stop_node() { end_node "$1" "$2" TERM; }

cmd_kill_node() { end_node "$1" "$2" KILL; }

cmd_start_node() {
	local dir=$1 n=$2
	check_node_arg "$dir" "$n"
	if node_running "$dir" "$n"; then
		log "node $n is already running"
	else
		launch_node "$dir" "$n"
	fi
	wait_nodes_up "$dir" "$n" || die "node $n did not start; see logs above"
	log "node $n up in $(($(now_s) - T0))s"
	printf '127.0.0.1:%s\n' "$(state_get "$dir" "BROKER_PORT_$n")"
}

cmd_status() {
	local dir=$1 n st
	[ -f "$dir/$MARKER" ] || die "no Kafka made by kafka.sh in $dir"
	for n in $(seq 1 "$(state_get "$dir" NODES)"); do
		node_running "$dir" "$n" && st=running || st=stopped
		printf '%s %s %s\n' "$n" "$(state_get "$dir" "BROKER_PORT_$n")" "$st"
	done
}

cmd_tool() {
	local home
	[ $# -ge 1 ] || die "usage: $0 tool CLASS [ARGS...]"
	home=$(kafka_home)
	exec "$JAVA" -Xmx256m "-Dlog4j2.configurationFile=$home/config/tools-log4j2.properties" \
		-cp "$home/libs/*" "$@"
}

cmd_down() {
	local dir=$1 n nd pid deadline left
	local -a pids=()
	if [ ! -e "$dir" ]; then
		log "nothing in $dir"
		return
	fi
	[ -f "$dir/$MARKER" ] || die "$dir was not made by kafka.sh; refusing to remove it"
	for nd in "$dir"/node-*; do
		[ -d "$nd" ] || continue
		n=${nd##*/node-}
		if node_running "$dir" "$n"; then
			pid=$(node_pid "$dir" "$n")
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	if [ "${#pids[@]}" -gt 0 ]; then
		log "stopping ${#pids[@]} node(s) in $dir"
		deadline=$(($(now_s) + DOWN_TIMEOUT))
		for pid in "${pids[@]}"; do
			left=$((deadline - $(now_s)))
			[ "$left" -ge 0 ] || left=0
			if ! wait_pid_exit "$pid" "$left"; then
				log "pid $pid still running after ${DOWN_TIMEOUT}s; kill -9"
				kill -KILL "$pid" 2>/dev/null || true
				wait_pid_exit "$pid" 10 || log "pid $pid does not die"
			fi
		done
	fi
	rm -rf "$dir"
	log "down: removed $dir ($(($(now_s) - T0))s)"
}

# ---- main ---------------------------------------------------------------

T0=$(now_s)
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
up-single) cmd_up single "${1:-$DEFAULT_SINGLE_DIR}" ;;
up-cluster) cmd_up cluster "${1:-$DEFAULT_CLUSTER_DIR}" ;;
up-single-secure) cmd_up secure "${1:-$DEFAULT_SECURE_DIR}" ;;
stop-node | kill-node | start-node)
	[ $# -eq 2 ] || die "usage: $0 $cmd DIR N"
	"cmd_${cmd//-/_}" "$(abs_path "$1")" "$2"
	;;
tool) cmd_tool "$@" ;;
status) cmd_status "$(abs_path "${1:-$DEFAULT_SINGLE_DIR}")" ;;
down)
	if [ $# -gt 0 ]; then
		cmd_down "$(abs_path "$1")"
	else
		cmd_down "$DEFAULT_SINGLE_DIR"
		cmd_down "$DEFAULT_CLUSTER_DIR"
		cmd_down "$DEFAULT_SECURE_DIR"
	fi
	;;
-h | --help | help)
	usage
	;;
*)
	usage >&2
	exit 2
	;;
esac
