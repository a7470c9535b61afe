#!/usr/bin/env bash
# Usage: test/scripts/kafka-fetch.sh
#
# Fetches Apache Kafka 4.x (broker, KRaft storage tool, admin tools) and all its
# runtime dependencies plus a log4j2 binding from Maven Central, through Maven,
# into a cache outside the repository:
#   ${REELAY_KAFKA_CACHE:-$HOME/.cache/reelay}/kafka-<version>/libs
# and writes log4j2 configs into .../kafka-<version>/config. Idempotent: a
# complete libs dir (marker libs/.complete) is not fetched again. Safe to run
# concurrently (flock). Progress goes to stderr; the last (only) line on stdout
# is the Kafka home dir, e.g. /root/.cache/reelay/kafka-4.4.0.
#
# Run with:  java -cp "$HOME_DIR/libs/*" kafka.Kafka server.properties
#            java -cp "$HOME_DIR/libs/*" kafka.tools.StorageTool random-uuid|format ...
#            java -cp "$HOME_DIR/libs/*" org.apache.kafka.tools.TopicCommand ...
#
# Environment:
#   REELAY_KAFKA_CACHE    cache root (default $HOME/.cache/reelay)
#   REELAY_KAFKA_VERSION  exact Kafka version; default: the first of
#                         REELAY_KAFKA_CANDIDATES that is cached or resolves
#   REELAY_KAFKA_CANDIDATES  newest-first list (default "4.4.0 4.3.1 ... 4.0.0")
#   REELAY_LOG4J_VERSION  log4j2 version for the binding (default 2.25.5)
#   MVN, JAVA             maven / java executables (default mvn / java)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REELAY_LOG_PREFIX=kafka-fetch
# shellcheck source=SCRIPTDIR/lib.sh
. "$SCRIPT_DIR/lib.sh"

case "${1:-}" in
-h | --help)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*) die "unexpected argument: $1 (see --help)" ;;
esac

MVN=${MVN:-mvn}
JAVA=${JAVA:-java}
CACHE_ROOT=${REELAY_KAFKA_CACHE:-${HOME:-/tmp}/.cache/reelay}
LOG4J_VERSION=${REELAY_LOG4J_VERSION:-2.25.5}
if [ -n "${REELAY_KAFKA_VERSION:-}" ]; then
	CANDIDATES=$REELAY_KAFKA_VERSION
else
	CANDIDATES=${REELAY_KAFKA_CANDIDATES:-4.4.0 4.3.1 4.3.0 4.2.1 4.2.0 4.1.1 4.1.0 4.0.1 4.0.0}
fi

command -v "$JAVA" >/dev/null 2>&1 || die "java not found (set JAVA=...)"

mkdir -p "$CACHE_ROOT"
CACHE_ROOT=$(cd "$CACHE_ROOT" && pwd)

# One fetch at a time per cache (parallel test packages may all call us).
exec 9>"$CACHE_ROOT/.kafka-fetch.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi

# mvn_quiet ARGS...: mvn -q with its output on stderr, minus the bare ANSI
# resets that Maven 3.8 prints even with -q -B.
mvn_quiet() {
	"$MVN" -q -B "$@" 2>&1 | { sed -e 's/\x1b\[[0-9;]*m//g' | grep -v '^[[:space:]]*$' >&2 || true; }
}

write_pom() {
	local home=$1 version=$2
	cat >"$home/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway pom written by reelay test/scripts/kafka-fetch.sh: only used to
     copy Kafka's runtime classpath into ./libs. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.reelay.test</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$version</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- broker (kafka.Kafka) and storage tool (kafka.tools.StorageTool) -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$version</version>
      <scope>runtime</scope>
    </dependency>
    <!-- admin tools (org.apache.kafka.tools.TopicCommand, ...) -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$version</version>
      <scope>runtime</scope>
    </dependency>
    <!-- Kafka 4 logs through slf4j 1.7 to log4j2, as its distribution does -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>$LOG4J_VERSION</version>
      <scope>runtime</scope>
    </dependency>
  </dependencies>
</project>
EOF
}

# write_configs HOME: (re)writes the log4j2 configs; cheap, done every run.
write_configs() {
	local conf=$1/config
	mkdir -p "$conf"
	# Server: INFO (minus chatty loggers) to ${kafka.logs.dir}/kafka.log,
	# WARN and above also to stdout (which kafka.sh sends to server.log).
	cat >"$conf/log4j2.properties.tmp" <<'EOF'
# Written by reelay test/scripts/kafka-fetch.sh. Needs -Dkafka.logs.dir=DIR.
status = warn
name = reelay-kafka-server

appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/kafka.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n

appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.target = SYSTEM_OUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
appender.stdout.filter.threshold.type = ThresholdFilter
appender.stdout.filter.threshold.level = warn

rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
rootLogger.appenderRef.stdout.ref = STDOUT

logger.request.name = kafka.request.logger
logger.request.level = warn
logger.requestchannel.name = kafka.network.RequestChannel$
logger.requestchannel.level = warn
logger.statechange.name = state.change.logger
logger.statechange.level = warn
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = warn
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = warn
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
EOF
	mv -f "$conf/log4j2.properties.tmp" "$conf/log4j2.properties"

	# Command-line tools: WARN and above to stderr only.
	cat >"$conf/tools-log4j2.properties.tmp" <<'EOF'
# Written by reelay test/scripts/kafka-fetch.sh.
status = warn
name = reelay-kafka-tools
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
EOF
	mv -f "$conf/tools-log4j2.properties.tmp" "$conf/tools-log4j2.properties"
}

# fetch VERSION HOME: resolve and copy the runtime classpath into HOME/libs.
fetch() {
	local version=$1 home=$2 got
	log "fetching Kafka $version runtime into $home/libs (Maven Central)"
	mkdir -p "$home"
	write_pom "$home" "$version"
	rm -rf "$home/libs.tmp"
	if ! mvn_quiet -f "$home/pom.xml" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$home/libs.tmp"; then
		rm -rf "$home/libs.tmp"
		die "maven could not copy the Kafka $version runtime"
	fi
	# Smoke test: broker main class, storage tool and admin tools all load.
	got=$("$JAVA" -cp "$home/libs.tmp/*" kafka.Kafka --version 2>/dev/null | tail -n 1) ||
		die "kafka.Kafka does not run from $home/libs.tmp"
	[ "$got" = "$version" ] || die "kafka.Kafka --version said '$got', wanted $version"
	"$JAVA" -cp "$home/libs.tmp/*" kafka.tools.StorageTool random-uuid >/dev/null ||
		die "kafka.tools.StorageTool does not run"
	"$JAVA" -cp "$home/libs.tmp/*" org.apache.kafka.tools.TopicCommand --version >/dev/null ||
		die "org.apache.kafka.tools.TopicCommand does not run"
	{
		echo "version=$version"
		echo "log4j=$LOG4J_VERSION"
		echo "fetched=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "jars=$(find "$home/libs.tmp" -name '*.jar' | wc -l)"
	} >"$home/libs.tmp/.complete"
	rm -rf "$home/libs"
	mv "$home/libs.tmp" "$home/libs"
}

resolves() {
	(cd "$CACHE_ROOT" && "$MVN" -q -B dependency:get \
		-Dartifact="org.apache.kafka:kafka_2.13:$1" -Dtransitive=false >/dev/null 2>&1)
}

chosen=
for v in $CANDIDATES; do
	home=$CACHE_ROOT/kafka-$v
	if [ -f "$home/libs/.complete" ]; then
		chosen=$v
		break
	fi
	command -v "$MVN" >/dev/null 2>&1 || die "maven not found (set MVN=...)"
	if resolves "$v"; then
		fetch "$v" "$home"
		chosen=$v
		break
	fi
	log "kafka_2.13:$v does not resolve, trying an older one"
done
[ -n "$chosen" ] || die "none of these Kafka versions resolves: $CANDIDATES"

home=$CACHE_ROOT/kafka-$chosen
write_configs "$home"
printf '%s\n' "$home"
