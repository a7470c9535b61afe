package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelay/reelay/config"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.EmbeddedKafkaAddr != "127.0.0.1:9092" || !c.Embedded() {
		t.Fatalf("addresses: %+v", c)
	}
	if c.DatabaseURL != "data/reelay.db" || c.Postgres() {
		t.Fatalf("database: %q", c.DatabaseURL)
	}
	if c.TopicPartitions != 6 || c.TopicReplication != 1 || c.ShutdownTimeout != 30*time.Second {
		t.Fatalf("numbers: %+v", c)
	}
	if !c.AllConsumerGroups || len(c.ConsumerGroups) != 0 || !c.RunsGroup("any-registered-group") {
		t.Fatalf("groups: all=%v %v, want every registered group", c.AllConsumerGroups, c.ConsumerGroups)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		config.EnvKafkaBrokers:   "k1:9092, k2:9092",
		config.EnvDatabaseURL:    "postgres://u@h/db",
		config.EnvConsumerGroups: "notif-group",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || len(c.KafkaBrokers) != 2 || c.KafkaBrokers[1] != "k2:9092" || !c.Postgres() {
		t.Fatalf("%+v", c)
	}
	if !c.RunsGroup("notif-group") || c.RunsGroup("movie-group") {
		t.Fatalf("groups: %v", c.ConsumerGroups)
	}
	if c.PprofAddr != "" {
		t.Fatalf("pprof is on by default: %q", c.PprofAddr)
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0"} {
		if p, err := config.Load(env(map[string]string{config.EnvPprofAddr: addr})); err != nil || p.PprofAddr != addr {
			t.Fatalf("%s=%s: %q %v", config.EnvPprofAddr, addr, p.PprofAddr, err)
		}
	}
	none, err := config.Load(env(map[string]string{config.EnvConsumerGroups: "none"}))
	if err != nil || len(none.ConsumerGroups) != 0 || none.AllConsumerGroups || none.RunsGroup("movie-group") {
		t.Fatalf("none: %v %v", none.ConsumerGroups, err)
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, env, value string
	}{
		{"partitions not a number", config.EnvTopicPartitions, "six"},
		{"partitions zero", config.EnvTopicPartitions, "0"},
		{"replication too high", config.EnvTopicReplication, "99"},
		{"shutdown not a duration", config.EnvShutdownTimeout, "soon"},
		{"shutdown negative", config.EnvShutdownTimeout, "-1s"},
		{"http addr", config.EnvHTTPAddr, "8080"},
		{"brokers", config.EnvKafkaBrokers, "localhost"},
		{"database scheme", config.EnvDatabaseURL, "mysql://x"},
		{"webhook", config.EnvNotifyWebhookURL, "ftp://x"},
		{"group name with a space", config.EnvConsumerGroups, "movie-group,billing group"},
		{"log level", config.EnvLogLevel, "loud"},
		{"idempotency ttl not a duration", config.EnvIdempotencyTTL, "a day"},
		{"idempotency ttl zero", config.EnvIdempotencyTTL, "0s"},
		{"pprof on all interfaces", config.EnvPprofAddr, "0.0.0.0:6060"},
		{"pprof on a LAN address", config.EnvPprofAddr, "192.168.1.10:6060"},
		{"pprof not host:port", config.EnvPprofAddr, "6060"},
		{"publish timeout zero", config.EnvPublishTimeout, "0s"},
		{"access log not a boolean", config.EnvAccessLog, "yes please"},
		{"connect timeout zero", config.EnvKafkaConnectTimeout, "0s"},
		{"publish timeout not a duration", config.EnvPublishTimeout, "3"},
		{"session timeout too short", config.EnvKafkaSessionTimeout, "2s"},
		{"session timeout too long", config.EnvKafkaSessionTimeout, "10m"},
		{"http port out of range", config.EnvHTTPAddr, "127.0.0.1:99999"},
		{"http port not a number", config.EnvHTTPAddr, "127.0.0.1:http"},
		{"embedded broker port out of range", config.EnvEmbeddedKafkaAddr, "127.0.0.1:65536"},
		{"broker port out of range", config.EnvKafkaBrokers, "k1:9092,k2:90920"},
		{"stuck after under a second", config.EnvStuckAfter, "500ms"},
		{"replay max zero", config.EnvReplayMax, "0"},
		{"replay rate zero", config.EnvReplayRate, "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(env(map[string]string{tc.env: tc.value}))
			if err == nil {
				t.Fatalf("%s=%s accepted", tc.env, tc.value)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.env) || !strings.Contains(msg, tc.value) {
				t.Fatalf("error must be one line naming %s and %q: %q", tc.env, tc.value, msg)
			}
		})
	}
}

// password is the secret the Kafka security cases use; no error or print may show it.
const password = "s3cret-pw"

// pems writes a CA certificate, a client certificate with its key, a key of
// another certificate, a file that is not PEM and a password file.
func pems(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	write := func(name string, blocks ...*pem.Block) {
		var out []byte
		for _, b := range blocks {
			out = append(out, pem.EncodeToMemory(b)...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key := func() (*ecdsa.PrivateKey, *pem.Block) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	caKey, _ := key()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, clientKeyPEM := key()
	client := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "reelay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, client, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeyPEM := key()
	write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	write("client.pem", &pem.Block{Type: "CERTIFICATE", Bytes: clientDER})
	write("client-key.pem", clientKeyPEM)
	write("other-key.pem", otherKeyPEM)
	if err := os.WriteFile(filepath.Join(dir, "not.pem"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadKafkaSecurity(t *testing.T) {
	t.Parallel()
	dir := pems(t)
	c, err := config.Load(env(map[string]string{
		config.EnvKafkaBrokers:          "k1:9093",
		config.EnvKafkaTLSCAFile:        filepath.Join(dir, "ca.pem"),
		config.EnvKafkaTLSCertFile:      filepath.Join(dir, "client.pem"),
		config.EnvKafkaTLSKeyFile:       filepath.Join(dir, "client-key.pem"),
		config.EnvKafkaTLSServerName:    "kafka.internal",
		config.EnvKafkaSASLMechanism:    "scram-sha-512",
		config.EnvKafkaSASLUser:         "reelay",
		config.EnvKafkaSASLPasswordFile: filepath.Join(dir, "password"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.KafkaSecurity
	if !s.TLS || !s.SASL() || s.SASLMechanism != "SCRAM-SHA-512" || s.SASLUser != "reelay" || s.SASLPassword != password {
		t.Fatalf("security: %v (password from the file without its line break: %t)", s, s.SASLPassword == password)
	}
	tc, err := s.TLSConfig()
	if err != nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "kafka.internal" {
		t.Fatalf("tls config: %+v, %v", tc, err)
	}

	// Defaults: plaintext, no SASL, no TLS configuration.
	plain, err := config.Load(env(nil))
	if err != nil || plain.KafkaSecurity.TLS || plain.KafkaSecurity.SASL() {
		t.Fatalf("default security: %v %v", plain.KafkaSecurity, err)
	}
	if tc, err := plain.KafkaSecurity.TLSConfig(); tc != nil || err != nil {
		t.Fatalf("default tls config: %v %v", tc, err)
	}
	// TLS with the system's roots, and the password taken as it is.
	sys, err := config.Load(env(map[string]string{
		config.EnvKafkaBrokers: "k1:9093", config.EnvKafkaTLSEnabled: "true",
		config.EnvKafkaSASLMechanism: "PLAIN", config.EnvKafkaSASLUser: "reelay", config.EnvKafkaSASLPassword: " " + password,
	}))
	if err != nil || !sys.KafkaSecurity.TLS || sys.KafkaSecurity.SASLPassword != " "+password {
		t.Fatalf("tls on, system roots: %v %v", sys.KafkaSecurity, err)
	}
	// The embedded broker may listen beyond loopback when it requires SASL.
	open, err := config.Load(env(map[string]string{
		config.EnvEmbeddedKafkaAddr: "0.0.0.0:9092", config.EnvKafkaSASLMechanism: "SCRAM-SHA-256",
		config.EnvKafkaSASLUser: "reelay", config.EnvKafkaSASLPassword: password,
	}))
	if err != nil || !open.Embedded() {
		t.Fatalf("embedded on 0.0.0.0 with SASL: %v", err)
	}
	for _, printed := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(s)} {
		if strings.Contains(printed, password) || !strings.Contains(printed, "reelay") {
			t.Fatalf("printed config shows the password or hides the user: %s", printed)
		}
	}
	raw, err := json.Marshal(c)
	if err != nil || strings.Contains(string(raw), password) {
		t.Fatalf("JSON shows the password: %s %v", raw, err)
	}
}

func TestLoadKafkaSecurityRejects(t *testing.T) {
	t.Parallel()
	dir := pems(t)
	file := func(name string) string { return filepath.Join(dir, name) }
	sasl := map[string]string{config.EnvKafkaSASLMechanism: "SCRAM-SHA-256", config.EnvKafkaSASLUser: "reelay", config.EnvKafkaSASLPassword: password}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{config.EnvKafkaBrokers: "k1:9093"}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name string
		env  map[string]string
		// want is the variable the error must name.
		want string
	}{
		{"unknown mechanism", with(sasl, config.EnvKafkaSASLMechanism, "GSSAPI"), config.EnvKafkaSASLMechanism},
		{"mechanism without user", with(nil, config.EnvKafkaSASLMechanism, "PLAIN"), config.EnvKafkaSASLUser},
		{"user without password", with(sasl, config.EnvKafkaSASLPassword, ""), config.EnvKafkaSASLPassword},
		{"user without mechanism", with(sasl, config.EnvKafkaSASLMechanism, ""), config.EnvKafkaSASLMechanism},
		{"password without user", with(nil, config.EnvKafkaSASLPassword, password), config.EnvKafkaSASLUser},
		{"password and password file", with(sasl, config.EnvKafkaSASLPasswordFile, file("password")), config.EnvKafkaSASLPasswordFile},
		{"unreadable password file", with(sasl, config.EnvKafkaSASLPassword, "", config.EnvKafkaSASLPasswordFile, file("missing")), config.EnvKafkaSASLPasswordFile},
		{"empty password file", with(sasl, config.EnvKafkaSASLPassword, "", config.EnvKafkaSASLPasswordFile, file("empty")), config.EnvKafkaSASLPasswordFile},
		{"tls enabled not a boolean", with(sasl, config.EnvKafkaTLSEnabled, "maybe"), config.EnvKafkaTLSEnabled},
		{"tls disabled with a CA file", with(sasl, config.EnvKafkaTLSEnabled, "false", config.EnvKafkaTLSCAFile, file("ca.pem")), config.EnvKafkaTLSEnabled},
		{"cert without key", with(sasl, config.EnvKafkaTLSCertFile, file("client.pem")), config.EnvKafkaTLSKeyFile},
		{"key without cert", with(sasl, config.EnvKafkaTLSKeyFile, file("client-key.pem")), config.EnvKafkaTLSCertFile},
		{"unreadable CA file", with(sasl, config.EnvKafkaTLSCAFile, file("missing.pem")), config.EnvKafkaTLSCAFile},
		{"CA file not PEM", with(sasl, config.EnvKafkaTLSCAFile, file("not.pem")), config.EnvKafkaTLSCAFile},
		{"cert file not PEM", with(sasl, config.EnvKafkaTLSCertFile, file("not.pem"), config.EnvKafkaTLSKeyFile, file("client-key.pem")), config.EnvKafkaTLSCertFile},
		{"unreadable key file", with(sasl, config.EnvKafkaTLSCertFile, file("client.pem"), config.EnvKafkaTLSKeyFile, file("missing.pem")), config.EnvKafkaTLSKeyFile},
		{"key of another cert", with(sasl, config.EnvKafkaTLSCertFile, file("client.pem"), config.EnvKafkaTLSKeyFile, file("other-key.pem")), config.EnvKafkaTLSCertFile},
		{"tls with the embedded broker", with(sasl, config.EnvKafkaBrokers, "", config.EnvKafkaTLSEnabled, "true"), config.EnvKafkaTLSEnabled},
		{"embedded broker on all interfaces without SASL", map[string]string{config.EnvEmbeddedKafkaAddr: "0.0.0.0:9092"}, config.EnvEmbeddedKafkaAddr},
		{"embedded broker on a LAN address without SASL", map[string]string{config.EnvEmbeddedKafkaAddr: "192.168.1.10:9092"}, config.EnvEmbeddedKafkaAddr},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(env(tc.env))
			if err == nil {
				t.Fatalf("accepted: %v", tc.env)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) || strings.Contains(msg, password) {
				t.Fatalf("error must be one line naming %s, without the password: %q", tc.want, msg)
			}
		})
	}
}

// TestAdminToken: the admin token comes from the variable or a file, not
// both; a short one is refused without being printed.
func TestAdminToken(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	if err != nil || c.AdminToken != "" || c.StuckAfter != time.Minute || c.ReplayMax != 3 || c.ReplayRate != 500 {
		t.Fatalf("defaults: token %q stuck %s replays %d/%d (%v)", c.AdminToken, c.StuckAfter, c.ReplayMax, c.ReplayRate, err)
	}
	const token = "0123456789abcdef-token"
	if c, err := config.Load(env(map[string]string{config.EnvAdminToken: token})); err != nil || c.AdminToken != token {
		t.Fatalf("from the variable: %q %v", c.AdminToken, err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := config.Load(env(map[string]string{config.EnvAdminTokenFile: file})); err != nil || c.AdminToken != token {
		t.Fatalf("from a file: %q %v", c.AdminToken, err)
	}
	for name, kv := range map[string]map[string]string{
		"both":      {config.EnvAdminToken: token, config.EnvAdminTokenFile: file},
		"short":     {config.EnvAdminToken: "short-secret"},
		"no file":   {config.EnvAdminTokenFile: filepath.Join(t.TempDir(), "missing")},
		"has space": {config.EnvAdminToken: "0123456789 abcdef"},
	} {
		_, err := config.Load(env(kv))
		if err == nil || strings.Contains(err.Error(), "short-secret") || strings.Contains(err.Error(), "abcdef") && name == "has space" ||
			!strings.Contains(err.Error(), "REELAY_ADMIN_TOKEN") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
