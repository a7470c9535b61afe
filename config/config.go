// Package config reads Reelay's configuration from REELAY_* environment
// variables. Every field has a default that runs the service with zero
// set-up; Validate names the variable of the first bad value.
package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environment variable names.
const (
	EnvHTTPAddr          = "REELAY_HTTP_ADDR"
	EnvKafkaBrokers      = "REELAY_KAFKA_BROKERS"
	EnvEmbeddedKafkaAddr = "REELAY_EMBEDDED_KAFKA_ADDR"
	EnvDataDir           = "REELAY_DATA_DIR"
	EnvDatabaseURL       = "REELAY_DATABASE_URL"
	EnvTopicPartitions   = "REELAY_TOPIC_PARTITIONS"
	EnvTopicReplication  = "REELAY_TOPIC_REPLICATION"
	EnvNotifyWebhookURL  = "REELAY_NOTIFY_WEBHOOK_URL"
	EnvShutdownTimeout   = "REELAY_SHUTDOWN_TIMEOUT"
	EnvConsumerGroups    = "REELAY_CONSUMER_GROUPS"
	EnvRetryMax          = "REELAY_RETRY_MAX"
	EnvRetryInitial      = "REELAY_RETRY_INITIAL_INTERVAL"
	EnvTopicScanInterval = "REELAY_TOPIC_SCAN_INTERVAL"
	EnvLogLevel          = "REELAY_LOG_LEVEL"
	EnvIdempotencyTTL    = "REELAY_IDEMPOTENCY_TTL"
)

// GroupsNone, as REELAY_CONSUMER_GROUPS, runs the HTTP API and publisher alone.
const GroupsNone = "none"

// Config is the whole configuration of one Reelay process.
type Config struct {
	// HTTPAddr is the listen address of the HTTP API.
	HTTPAddr string
	// KafkaBrokers are the bootstrap brokers; empty starts the embedded broker.
	KafkaBrokers []string
	// EmbeddedKafkaAddr is where the embedded broker listens (host:port; port 0 picks one).
	EmbeddedKafkaAddr string
	// DataDir holds the embedded broker's log and the SQLite file.
	DataDir string
	// DatabaseURL is a SQLite file path or a postgres:// URL.
	DatabaseURL string
	// TopicPartitions and TopicReplication apply to topics Reelay creates.
	TopicPartitions  int32
	TopicReplication int16
	NotifyWebhookURL string
	ShutdownTimeout  time.Duration
	// ConsumerGroups run in this process; empty runs none.
	ConsumerGroups []string
	// RetryMax is how many times a transient handler error is retried before
	// the event is dead-lettered; RetryInitial is the first backoff.
	RetryMax     int
	RetryInitial time.Duration
	// TopicScanInterval is how often new topics are looked for (pattern subscriptions).
	TopicScanInterval time.Duration
	LogLevel          string
	// IdempotencyTTL is how long an Idempotency-Key and its answer are
	// remembered; expired keys are purged.
	IdempotencyTTL time.Duration
}

// Embedded reports whether the process runs the embedded broker.
func (c Config) Embedded() bool { return len(c.KafkaBrokers) == 0 }

// Postgres reports whether DatabaseURL selects PostgreSQL.
func (c Config) Postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// RunsGroup reports whether this process consumes as group.
func (c Config) RunsGroup(group string) bool { return slices.Contains(c.ConsumerGroups, group) }

// knownGroups are the consumer groups REELAY_CONSUMER_GROUPS may name.
func knownGroups() []string { return []string{"movie-group", "analytics-group", "notif-group"} }

// Load reads the configuration through getenv (os.Getenv in production) and
// validates it. The error is one line naming the variable, its value and what
// is allowed.
func Load(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		HTTPAddr:          get(EnvHTTPAddr, "127.0.0.1:8080"),
		EmbeddedKafkaAddr: get(EnvEmbeddedKafkaAddr, "127.0.0.1:9092"),
		DataDir:           get(EnvDataDir, "./data"),
		NotifyWebhookURL:  get(EnvNotifyWebhookURL, ""),
		LogLevel:          get(EnvLogLevel, "info"),
	}
	c.KafkaBrokers = splitList(get(EnvKafkaBrokers, ""))
	c.DatabaseURL = get(EnvDatabaseURL, filepath.Join(c.DataDir, "reelay.db"))
	if groups := get(EnvConsumerGroups, strings.Join(knownGroups(), ",")); groups != GroupsNone {
		c.ConsumerGroups = splitList(groups)
	}

	var err error
	p := parser{getenv: get, err: &err}
	c.TopicPartitions = int32(p.int(EnvTopicPartitions, "6", 1, 10000))
	c.TopicReplication = int16(p.int(EnvTopicReplication, "1", 1, 32))
	c.RetryMax = p.int(EnvRetryMax, "5", 0, 100)
	c.ShutdownTimeout = p.duration(EnvShutdownTimeout, "30s")
	c.RetryInitial = p.duration(EnvRetryInitial, "100ms")
	c.TopicScanInterval = p.duration(EnvTopicScanInterval, "2s")
	c.IdempotencyTTL = p.duration(EnvIdempotencyTTL, "24h")
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// Validate checks every field; the error names the variable.
func (c Config) Validate() error {
	for _, a := range []struct{ env, addr string }{{EnvHTTPAddr, c.HTTPAddr}, {EnvEmbeddedKafkaAddr, c.EmbeddedKafkaAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return invalid(a.env, a.addr, "host:port")
		}
	}
	for _, b := range c.KafkaBrokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return invalid(EnvKafkaBrokers, strings.Join(c.KafkaBrokers, ","), "a comma-separated list of host:port")
		}
	}
	if strings.Contains(c.DatabaseURL, "://") && !c.Postgres() {
		return invalid(EnvDatabaseURL, c.DatabaseURL, "a SQLite file path or a postgres:// URL")
	}
	if c.NotifyWebhookURL != "" {
		u, err := url.Parse(c.NotifyWebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid(EnvNotifyWebhookURL, c.NotifyWebhookURL, "an http:// or https:// URL")
		}
	}
	for _, g := range c.ConsumerGroups {
		if !slices.Contains(knownGroups(), g) {
			return invalid(EnvConsumerGroups, strings.Join(c.ConsumerGroups, ","),
				"a comma-separated subset of "+strings.Join(knownGroups(), ",")+", or none")
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		return invalid(EnvLogLevel, c.LogLevel, "debug, info, warn or error")
	}
	for _, d := range []struct {
		env string
		v   time.Duration
	}{{EnvShutdownTimeout, c.ShutdownTimeout}, {EnvRetryInitial, c.RetryInitial}, {EnvTopicScanInterval, c.TopicScanInterval},
		{EnvIdempotencyTTL, c.IdempotencyTTL}} {
		if d.v <= 0 {
			return invalid(d.env, d.v.String(), "a positive duration such as 30s")
		}
	}
	return nil
}

func invalid(env, value, allowed string) error {
	return fmt.Errorf("config: %s=%q is invalid: want %s", env, value, allowed)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parser reads typed values and keeps the first error.
type parser struct {
	getenv func(k, def string) string
	err    *error
}

func (p parser) int(env, def string, lo, hi int) int {
	raw := p.getenv(env, def)
	n, err := strconv.Atoi(raw)
	if (err != nil || n < lo || n > hi) && *p.err == nil {
		*p.err = invalid(env, raw, fmt.Sprintf("an integer from %d to %d", lo, hi))
	}
	return n
}

func (p parser) duration(env, def string) time.Duration {
	raw := p.getenv(env, def)
	d, err := time.ParseDuration(raw)
	if (err != nil || d <= 0) && *p.err == nil {
		*p.err = invalid(env, raw, "a positive duration such as 30s")
	}
	return d
}
