// Package config reads Reelay's configuration from REELAY_* environment
// variables. Every field has a default that runs the service with zero
// set-up; Validate names the variable of the first bad value.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environment variable names.
const (
	EnvHTTPAddr            = "REELAY_HTTP_ADDR"
	EnvKafkaBrokers        = "REELAY_KAFKA_BROKERS"
	EnvEmbeddedKafkaAddr   = "REELAY_EMBEDDED_KAFKA_ADDR"
	EnvDataDir             = "REELAY_DATA_DIR"
	EnvDatabaseURL         = "REELAY_DATABASE_URL"
	EnvTopicPartitions     = "REELAY_TOPIC_PARTITIONS"
	EnvTopicReplication    = "REELAY_TOPIC_REPLICATION"
	EnvNotifyWebhookURL    = "REELAY_NOTIFY_WEBHOOK_URL"
	EnvShutdownTimeout     = "REELAY_SHUTDOWN_TIMEOUT"
	EnvConsumerGroups      = "REELAY_CONSUMER_GROUPS"
	EnvRetryMax            = "REELAY_RETRY_MAX"
	EnvRetryInitial        = "REELAY_RETRY_INITIAL_INTERVAL"
	EnvTopicScanInterval   = "REELAY_TOPIC_SCAN_INTERVAL"
	EnvLogLevel            = "REELAY_LOG_LEVEL"
	EnvMaxPatternTopics    = "REELAY_MAX_PATTERN_TOPICS"
	EnvConsumerMaxInFlight = "REELAY_CONSUMER_MAX_IN_FLIGHT"
	EnvHTTPReadTimeout     = "REELAY_HTTP_READ_TIMEOUT"
	EnvIdempotencyTTL      = "REELAY_IDEMPOTENCY_TTL"
	EnvPprofAddr           = "REELAY_PPROF_ADDR"
	EnvPublishTimeout      = "REELAY_PUBLISH_TIMEOUT"
	EnvKafkaSessionTimeout = "REELAY_KAFKA_SESSION_TIMEOUT"
	EnvAccessLog           = "REELAY_ACCESS_LOG"
	EnvKafkaConnectTimeout = "REELAY_KAFKA_CONNECT_TIMEOUT"
	EnvAdminToken          = "REELAY_ADMIN_TOKEN"
	EnvAdminTokenFile      = "REELAY_ADMIN_TOKEN_FILE"
	EnvStuckAfter          = "REELAY_STUCK_AFTER"
	EnvReplayMax           = "REELAY_REPLAY_MAX"
	EnvReplayRate          = "REELAY_REPLAY_RATE"
)

// MinAdminTokenLength is the shortest admin token accepted.
const MinAdminTokenLength = 16

// GroupsAll, as REELAY_CONSUMER_GROUPS (the default), runs every registered
// consumer; GroupsNone runs the HTTP API and publisher alone.
const (
	GroupsAll  = "all"
	GroupsNone = "none"
)

// groupName is what a consumer group name may look like.
var groupName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// InvalidError is the error of a configuration value: its message is one
// line naming the variable, its value and what is allowed. The app returns
// it too, for values only the wired graph can judge (REELAY_CONSUMER_GROUPS).
type InvalidError struct{ Env, Value, Allowed string }

func (e *InvalidError) Error() string {
	return fmt.Sprintf("config: %s=%q is invalid: want %s", e.Env, e.Value, e.Allowed)
}

// Config is the whole configuration of one Reelay process.
type Config struct {
	// HTTPAddr is the listen address of the HTTP API.
	HTTPAddr string
	// HTTPReadTimeout bounds reading one request, body included: a body
	// slower than that is answered 408.
	HTTPReadTimeout time.Duration
	// KafkaBrokers are the bootstrap brokers; empty starts the embedded broker.
	KafkaBrokers []string
	// KafkaSecurity is TLS and SASL for every Kafka client (REELAY_KAFKA_TLS_*,
	// REELAY_KAFKA_SASL_*); with the embedded broker, SASL is what it requires.
	KafkaSecurity KafkaSecurity
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
	// AllConsumerGroups runs every registered consumer (the default);
	// otherwise ConsumerGroups names those this process runs (none when
	// empty). The app checks the names against the registered consumers.
	AllConsumerGroups bool
	ConsumerGroups    []string
	// RetryMax is how many times a transient handler error is retried before
	// the event is dead-lettered; RetryInitial is the first backoff.
	RetryMax     int
	RetryInitial time.Duration
	// TopicScanInterval is how often new topics are looked for (pattern subscriptions).
	TopicScanInterval time.Duration
	// MaxPatternTopics caps how many topics one pattern subscription
	// (notification-*) follows besides those its consumer names (email,
	// push, sms); each costs a handler and a consumer client.
	MaxPatternTopics int
	// ConsumerMaxInFlight bounds the events of one partition handled at
	// once (a group's bound is 1024): of different keys, or of one key in
	// line in a batch (order per key is kept).
	ConsumerMaxInFlight int
	LogLevel            string
	// IdempotencyTTL is how long an Idempotency-Key and its answer are
	// remembered; expired keys are purged.
	IdempotencyTTL time.Duration
	// PublishTimeout bounds the wait for Kafka's acknowledgement of a
	// request's event: past it the request is answered 503 with
	// Retry-After, and a retry with the same Idempotency-Key is safe.
	PublishTimeout time.Duration
	// KafkaSessionTimeout is how long a consumer group waits for a silent
	// member before giving its partitions to the others.
	KafkaSessionTimeout time.Duration
	// KafkaConnectTimeout is how long start-up waits for the brokers to
	// answer, retrying and logging each failure.
	KafkaConnectTimeout time.Duration
	// AccessLog writes one INFO line per HTTP request.
	AccessLog bool
	// PprofAddr is where net/http/pprof is served (host:port on loopback
	// only); empty, the default, serves nothing.
	PprofAddr string
	// AdminToken is the bearer token of the admin API (/admin/v1); empty,
	// the default, disables the admin API.
	AdminToken string
	// StuckAfter is how long a partition with lag may go without a commit
	// before it is reported stuck.
	StuckAfter time.Duration
	// ReplayMax is how often one event may be replayed from the dead
	// letters; ReplayRate bounds the records per second a replay sends.
	ReplayMax  int
	ReplayRate int
	// Tracing is read from the standard OTEL_* variables (config/tracing.go).
	Tracing Tracing
}

// Embedded reports whether the process runs the embedded broker.
func (c Config) Embedded() bool { return len(c.KafkaBrokers) == 0 }

// Postgres reports whether DatabaseURL selects PostgreSQL.
func (c Config) Postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// RunsGroup reports whether this process consumes as group.
func (c Config) RunsGroup(group string) bool {
	return c.AllConsumerGroups || slices.Contains(c.ConsumerGroups, group)
}

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
		PprofAddr:         get(EnvPprofAddr, ""),
	}
	c.KafkaBrokers = splitList(get(EnvKafkaBrokers, ""))
	c.DatabaseURL = get(EnvDatabaseURL, filepath.Join(c.DataDir, "reelay.db"))
	switch groups := get(EnvConsumerGroups, GroupsAll); groups {
	case GroupsAll:
		c.AllConsumerGroups = true
	case GroupsNone:
	default:
		c.ConsumerGroups = splitList(groups)
	}

	var err error
	p := parser{getenv: get, err: &err}
	c.KafkaSecurity = p.kafkaSecurity(getenv)
	c.TopicPartitions = int32(p.int(EnvTopicPartitions, "6", 1, 10000))
	c.TopicReplication = int16(p.int(EnvTopicReplication, "1", 1, 32))
	c.RetryMax = p.int(EnvRetryMax, "5", 0, 100)
	c.MaxPatternTopics = p.int(EnvMaxPatternTopics, "64", 1, 1000)
	c.ConsumerMaxInFlight = p.int(EnvConsumerMaxInFlight, "512", 1, 1024) // 1024: a group's bound
	c.ShutdownTimeout = p.duration(EnvShutdownTimeout, "30s")
	c.RetryInitial = p.duration(EnvRetryInitial, "100ms")
	c.TopicScanInterval = p.duration(EnvTopicScanInterval, "2s")
	c.HTTPReadTimeout = p.duration(EnvHTTPReadTimeout, "30s")
	c.IdempotencyTTL = p.duration(EnvIdempotencyTTL, "24h")
	c.PublishTimeout = p.duration(EnvPublishTimeout, "3s")
	c.KafkaSessionTimeout = p.duration(EnvKafkaSessionTimeout, "10s")
	c.AccessLog = p.bool(EnvAccessLog, false)
	c.KafkaConnectTimeout = p.duration(EnvKafkaConnectTimeout, "30s")
	c.StuckAfter = p.duration(EnvStuckAfter, "60s")
	c.ReplayMax = p.int(EnvReplayMax, "3", 1, 100)
	c.ReplayRate = p.int(EnvReplayRate, "500", 1, 100000)
	c.AdminToken = p.secret(getenv, EnvAdminToken, EnvAdminTokenFile)
	c.Tracing = loadTracing(getenv)
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// Validate checks every field; the error names the variable.
func (c Config) Validate() error {
	for _, a := range []struct{ env, addr string }{{EnvHTTPAddr, c.HTTPAddr}, {EnvEmbeddedKafkaAddr, c.EmbeddedKafkaAddr}} {
		if !hostPort(a.addr) {
			return invalid(a.env, a.addr, "host:port with a port from 0 to 65535")
		}
	}
	for _, b := range c.KafkaBrokers {
		if !hostPort(b) {
			return invalid(EnvKafkaBrokers, strings.Join(c.KafkaBrokers, ","), "a comma-separated list of host:port (ports up to 65535)")
		}
	}
	if err := c.validateKafkaSecurity(); err != nil {
		return err
	}
	if strings.Contains(c.DatabaseURL, "://") && !c.Postgres() {
		return invalid(EnvDatabaseURL, RedactURL(c.DatabaseURL), "a SQLite file path or a postgres:// URL")
	}
	if c.Postgres() {
		if u, err := url.Parse(c.DatabaseURL); err != nil || u.Host == "" {
			return invalid(EnvDatabaseURL, RedactURL(c.DatabaseURL), "a postgres://user:password@host:port/database URL")
		}
	}
	if c.NotifyWebhookURL != "" {
		u, err := url.Parse(c.NotifyWebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid(EnvNotifyWebhookURL, RedactURL(c.NotifyWebhookURL), "an http:// or https:// URL")
		}
	}
	for _, g := range c.ConsumerGroups {
		if !groupName.MatchString(g) {
			return invalid(EnvConsumerGroups, strings.Join(c.ConsumerGroups, ","),
				"all, none, or a comma-separated list of consumer group names")
		}
	}
	if c.PprofAddr != "" && !loopback(c.PprofAddr) {
		return invalid(EnvPprofAddr, c.PprofAddr, "a loopback host:port such as 127.0.0.1:6060 (profiles are not for the network), or empty for off")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		return invalid(EnvLogLevel, c.LogLevel, "debug, info, warn or error")
	}
	for _, d := range []struct {
		env string
		v   time.Duration
	}{{EnvShutdownTimeout, c.ShutdownTimeout}, {EnvRetryInitial, c.RetryInitial}, {EnvTopicScanInterval, c.TopicScanInterval},
		{EnvIdempotencyTTL, c.IdempotencyTTL}, {EnvPublishTimeout, c.PublishTimeout}} {
		if d.v <= 0 {
			return invalid(d.env, d.v.String(), "a positive duration such as 30s")
		}
	}
	if c.AdminToken != "" && (len(c.AdminToken) < MinAdminTokenLength || strings.ContainsAny(c.AdminToken, " \t\r\n")) {
		return invalid(EnvAdminToken, "(hidden)", fmt.Sprintf("at least %d characters without spaces", MinAdminTokenLength))
	}
	if c.StuckAfter < time.Second {
		return invalid(EnvStuckAfter, c.StuckAfter.String(), "a duration of at least 1s such as 60s")
	}
	// Kafka brokers accept session timeouts from 6 s to 5 min by default
	// (group.min/max.session.timeout.ms); heartbeats go every tenth of it.
	if c.KafkaSessionTimeout < 3*time.Second || c.KafkaSessionTimeout > 5*time.Minute {
		return invalid(EnvKafkaSessionTimeout, c.KafkaSessionTimeout.String(), "a duration from 3s to 5m, within the brokers' group.min/max.session.timeout.ms")
	}
	return nil
}

// hostPort reports whether addr is host:port with a numeric port that fits
// in 16 bits.
func hostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n <= 65535
}

func invalid(env, value, allowed string) error {
	return &InvalidError{Env: env, Value: value, Allowed: allowed}
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

func (p parser) bool(env string, def bool) bool {
	raw := p.getenv(env, strconv.FormatBool(def))
	b, err := strconv.ParseBool(raw)
	if err != nil && *p.err == nil {
		*p.err = invalid(env, raw, "true or false")
	}
	return b
}

func (p parser) duration(env, def string) time.Duration {
	raw := p.getenv(env, def)
	d, err := time.ParseDuration(raw)
	if (err != nil || d <= 0) && *p.err == nil {
		*p.err = invalid(env, raw, "a positive duration such as 30s")
	}
	return d
}

// Kafka TLS and SASL variables.
const (
	EnvKafkaTLSEnabled       = "REELAY_KAFKA_TLS_ENABLED"
	EnvKafkaTLSCAFile        = "REELAY_KAFKA_TLS_CA_FILE"
	EnvKafkaTLSCertFile      = "REELAY_KAFKA_TLS_CERT_FILE"
	EnvKafkaTLSKeyFile       = "REELAY_KAFKA_TLS_KEY_FILE"
	EnvKafkaTLSServerName    = "REELAY_KAFKA_TLS_SERVER_NAME"
	EnvKafkaSASLMechanism    = "REELAY_KAFKA_SASL_MECHANISM"
	EnvKafkaSASLUser         = "REELAY_KAFKA_SASL_USER"
	EnvKafkaSASLPassword     = "REELAY_KAFKA_SASL_PASSWORD"
	EnvKafkaSASLPasswordFile = "REELAY_KAFKA_SASL_PASSWORD_FILE"
)

// saslMechanisms are the values REELAY_KAFKA_SASL_MECHANISM may take.
func saslMechanisms() []string { return []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} }

// KafkaSecurity is how the process's Kafka clients connect. The zero value is
// plaintext without authentication.
type KafkaSecurity struct {
	// TLS encrypts connections to REELAY_KAFKA_BROKERS and verifies the
	// brokers' certificates: REELAY_KAFKA_TLS_ENABLED=true, or implied by any
	// other REELAY_KAFKA_TLS_* variable.
	TLS bool
	// TLSCAFile is a PEM file of the CAs that sign broker certificates; empty
	// trusts the system's roots.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are a PEM client certificate and its key,
	// for brokers that require one (ssl.client.auth=required).
	TLSCertFile, TLSKeyFile string
	// TLSServerName is the name broker certificates must carry; empty: the
	// host of the address connected to.
	TLSServerName string
	// SASLMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL.
	SASLMechanism string
	SASLUser      string
	// SASLPassword comes from REELAY_KAFKA_SASL_PASSWORD or the file named
	// by REELAY_KAFKA_SASL_PASSWORD_FILE. It is never printed: String leaves
	// it out, JSON skips it, and no error contains it.
	SASLPassword string `json:"-"`
}

// SASL reports whether connections authenticate with SASL.
func (s KafkaSecurity) SASL() bool { return s.SASLMechanism != "" }

// String describes the settings without the password.
func (s KafkaSecurity) String() string {
	out := "tls=off"
	if s.TLS {
		out = fmt.Sprintf("tls=on ca=%q cert=%q key=%q server_name=%q", s.TLSCAFile, s.TLSCertFile, s.TLSKeyFile, s.TLSServerName)
	}
	if s.SASL() {
		return out + fmt.Sprintf(" sasl=%s user=%q", s.SASLMechanism, s.SASLUser)
	}
	return out + " sasl=off"
}

// GoString is String, so that %#v leaves the password out too.
func (s KafkaSecurity) GoString() string { return s.String() }

// TLSConfig reads the CA and client certificate files into a client TLS
// configuration (TLS 1.2 or newer); nil when TLS is off. The error names
// the variable of the unreadable or invalid file.
func (s KafkaSecurity) TLSConfig() (*tls.Config, error) {
	if !s.TLS {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.TLSServerName}
	if s.TLSCAFile != "" {
		raw, err := os.ReadFile(s.TLSCAFile)
		if err != nil {
			return nil, invalid(EnvKafkaTLSCAFile, s.TLSCAFile, "a readable PEM file ("+err.Error()+")")
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(raw) {
			return nil, invalid(EnvKafkaTLSCAFile, s.TLSCAFile, "a PEM file with at least one CA certificate")
		}
	}
	if s.TLSCertFile != "" {
		cert, err := os.ReadFile(s.TLSCertFile)
		if err != nil {
			return nil, invalid(EnvKafkaTLSCertFile, s.TLSCertFile, "a readable PEM file ("+err.Error()+")")
		}
		key, err := os.ReadFile(s.TLSKeyFile)
		if err != nil {
			return nil, invalid(EnvKafkaTLSKeyFile, s.TLSKeyFile, "a readable PEM file ("+err.Error()+")")
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, invalid(EnvKafkaTLSCertFile, s.TLSCertFile,
				"a PEM certificate whose key is in "+EnvKafkaTLSKeyFile+" ("+err.Error()+")")
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// kafkaSecurity reads the REELAY_KAFKA_TLS_* and REELAY_KAFKA_SASL_*
// variables. The password is read untrimmed (a password file loses only its
// trailing line break) through raw, the unmodified getenv.
func (p parser) kafkaSecurity(raw func(string) string) KafkaSecurity {
	s := KafkaSecurity{
		TLSCAFile:     p.getenv(EnvKafkaTLSCAFile, ""),
		TLSCertFile:   p.getenv(EnvKafkaTLSCertFile, ""),
		TLSKeyFile:    p.getenv(EnvKafkaTLSKeyFile, ""),
		TLSServerName: p.getenv(EnvKafkaTLSServerName, ""),
		SASLMechanism: strings.ToUpper(p.getenv(EnvKafkaSASLMechanism, "")),
		SASLUser:      p.getenv(EnvKafkaSASLUser, ""),
		SASLPassword:  raw(EnvKafkaSASLPassword),
	}
	s.TLS = s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != "" || s.TLSServerName != ""
	if v := p.getenv(EnvKafkaTLSEnabled, ""); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			p.fail(invalid(EnvKafkaTLSEnabled, v, "true or false"))
		} else if !on && s.TLS {
			p.fail(invalid(EnvKafkaTLSEnabled, v, "true, or no other REELAY_KAFKA_TLS_* variable set"))
		}
		s.TLS = on
	}
	if file := p.getenv(EnvKafkaSASLPasswordFile, ""); file != "" {
		switch b, err := os.ReadFile(file); {
		case s.SASLPassword != "":
			p.fail(fmt.Errorf("config: %s and %s are both set: want one of them", EnvKafkaSASLPassword, EnvKafkaSASLPasswordFile))
		case err != nil:
			p.fail(invalid(EnvKafkaSASLPasswordFile, file, "a readable file holding the password ("+err.Error()+")"))
		default:
			s.SASLPassword = strings.TrimRight(string(b), "\r\n")
			if s.SASLPassword == "" {
				p.fail(invalid(EnvKafkaSASLPasswordFile, file, "a file holding the password, not an empty one"))
			}
		}
	}
	return s
}

// secret reads a secret from env, or from the file envFile names (its
// trailing line break dropped); setting both is an error.
func (p parser) secret(getenv func(string) string, env, envFile string) string {
	v := getenv(env)
	file := strings.TrimSpace(getenv(envFile))
	if file == "" {
		return strings.TrimSpace(v)
	}
	if v != "" {
		p.fail(fmt.Errorf("config: %s and %s are both set: want one of them", env, envFile))
		return ""
	}
	b, err := os.ReadFile(file)
	if err != nil {
		p.fail(invalid(envFile, file, "a readable file ("+err.Error()+")"))
		return ""
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		p.fail(invalid(envFile, file, "a file holding the secret, not an empty one"))
	}
	return s
}

// fail keeps err unless an earlier error was kept.
func (p parser) fail(err error) {
	if *p.err == nil {
		*p.err = err
	}
}

// validateKafkaSecurity checks TLS and SASL and, for the embedded broker,
// that it is not open to the network without SASL. No error contains the
// password.
func (c Config) validateKafkaSecurity() error {
	s := c.KafkaSecurity
	required := func(env, when string) error {
		return fmt.Errorf("config: %s is required when %s is set", env, when)
	}
	switch {
	case s.SASLMechanism != "" && !slices.Contains(saslMechanisms(), s.SASLMechanism):
		return invalid(EnvKafkaSASLMechanism, s.SASLMechanism, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	case s.SASLMechanism != "" && s.SASLUser == "":
		return required(EnvKafkaSASLUser, EnvKafkaSASLMechanism)
	case s.SASLUser != "" && s.SASLPassword == "":
		return required(EnvKafkaSASLPassword+" (or "+EnvKafkaSASLPasswordFile+")", EnvKafkaSASLUser)
	case s.SASLUser != "" && s.SASLMechanism == "":
		return required(EnvKafkaSASLMechanism+" (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", EnvKafkaSASLUser)
	case s.SASLPassword != "" && s.SASLUser == "":
		return required(EnvKafkaSASLUser, EnvKafkaSASLPassword)
	case s.TLSCertFile != "" && s.TLSKeyFile == "":
		return required(EnvKafkaTLSKeyFile, EnvKafkaTLSCertFile)
	case s.TLSKeyFile != "" && s.TLSCertFile == "":
		return required(EnvKafkaTLSCertFile, EnvKafkaTLSKeyFile)
	case !s.TLS && (s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSServerName != ""):
		return invalid(EnvKafkaTLSEnabled, "false", "true, or no other REELAY_KAFKA_TLS_* variable set")
	case s.TLS && c.Embedded():
		return fmt.Errorf("config: %s and the other REELAY_KAFKA_TLS_* variables apply to %s only: "+
			"the embedded broker speaks plaintext (SASL works with it)", EnvKafkaTLSEnabled, EnvKafkaBrokers)
	case c.Embedded() && !s.SASL() && !loopback(c.EmbeddedKafkaAddr):
		return invalid(EnvEmbeddedKafkaAddr, c.EmbeddedKafkaAddr,
			"a loopback address (127.0.0.1, [::1], localhost), or set "+EnvKafkaSASLMechanism+
				": the embedded broker must not be open to the network without authentication")
	}
	_, err := s.TLSConfig()
	return err
}

// loopback reports whether addr's host only takes local connections.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
