package test_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/kafka"
)

// Kafka over TLS and SASL. The embedded-broker tests always run; the Apache
// Kafka ones run when REELAY_TEST_KAFKA_SECURE_BROKERS is set, as
// `go tool task test:kafka:secure` does: it starts one Kafka node whose only
// client listener is SASL_SSL (test/scripts/kafka.sh up-single-secure) and
// passes what kafka.sh prints as REELAY_TEST_KAFKA_SECURE_{BROKERS, CA_FILE,
// CERT_FILE, KEY_FILE, USER, PASSWORD}. That broker requires a client
// certificate and accepts PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.

// failFast bounds how long a start refused by the broker may take. The real
// figure is about a second; the bound only says "not a hang".
const failFast = 15 * time.Second

// TestSecureEmbeddedBrokerWithSCRAM runs the app on its embedded broker with
// SASL SCRAM-SHA-256: its own clients authenticate, events flow, and another
// client gets in with the password only.
func TestSecureEmbeddedBrokerWithSCRAM(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.KafkaBrokers = nil // the embedded broker, also when the suite runs on Apache Kafka
	cfg.KafkaSecurity = config.KafkaSecurity{SASLMechanism: "SCRAM-SHA-256", SASLUser: "reelay", SASLPassword: "embedded-pw"}
	in := start(t, cfg)
	roundTrip(t, in)

	good := kafka.SASL{Mechanism: kafka.MechanismSCRAMSHA256, User: "reelay", Password: "embedded-pw"}
	if err := ping(in.brokers, good); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	wrong := good
	wrong.Password = "wrong-pw"
	for name, s := range map[string]kafka.SASL{"wrong password": wrong, "no SASL": {}} {
		t0 := time.Now()
		err := ping(in.brokers, s)
		if err == nil {
			t.Fatalf("%s: the embedded broker let the client in", name)
		}
		if took := time.Since(t0); took > failFast {
			t.Fatalf("%s: refused after %s, want within %s", name, took, failFast)
		}
	}
}

// ping connects a franz-go client (not Sarama, which Reelay uses) with s and
// asks for metadata.
func ping(brokers []string, s kafka.SASL) error {
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RequestRetries(0)}
	if m := s.AsMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

// TestSecureEmbeddedBrokerRefusesNetworkWithoutSASL: an embedded broker on a
// non-loopback address without SASL would take anyone's events. Start-up
// refuses it in one line naming the variable, in config and in the app.
func TestSecureEmbeddedBrokerRefusesNetworkWithoutSASL(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.KafkaBrokers = nil
	cfg.EmbeddedKafkaAddr = "0.0.0.0:0"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), config.EnvEmbeddedKafkaAddr) {
		t.Fatalf("Validate: %v, want an error naming %s", err, config.EnvEmbeddedKafkaAddr)
	}
	err, _ := startErr(t, cfg)
	if err == nil || !strings.Contains(err.Error(), config.EnvEmbeddedKafkaAddr) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("start: %v, want one line naming %s", err, config.EnvEmbeddedKafkaAddr)
	}
}

// startErr starts the app with cfg, expecting it to fail; it returns the
// error and how long the start took.
func startErr(t *testing.T, cfg config.Config) (error, time.Duration) {
	t.Helper()
	t0 := time.Now()
	// Building the graph connects the admin client: count it in.
	a := app.New(cfg, fx.Decorate(func() *slog.Logger { return fileLogger(t) }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*failFast)
	defer cancel()
	err := a.Start(ctx)
	took := time.Since(t0)
	if err == nil {
		_ = a.Stop(context.Background())
	}
	return err, took
}

// roundTrip sends one event of each kind over HTTP and waits until every
// consumer group (movie, analytics, notifications) has applied it.
func roundTrip(t *testing.T, in *instance) {
	t.Helper()
	movie, user := uid("secure"), uid("u")
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movie, "title": "Sneakers", "year": 1992})
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+movie+"/views", map[string]any{"userId": user, "watchedSeconds": 60})
	in.mustAccept(http.MethodPost, "/api/v1/users/"+user+"/actions", map[string]any{"type": "like", "movieId": movie})
	in.mustAccept(http.MethodPost, "/api/v1/notifications", map[string]any{"userId": user, "channel": "email", "body": "too many secrets"})
	in.waitFor("/api/v1/movies/"+movie, fields(map[string]any{"title": "Sneakers", "year": 1992, "views": 1}))
	in.waitFor("/api/v1/analytics/movies/"+movie, fields(map[string]any{"views": 1, "likes": 1, "watchedSeconds": 60}))
	eventually(t, wait, func() error {
		v, err := in.getJSON("/api/v1/users/" + user + "/notifications")
		if err != nil {
			return err
		}
		if list := v.([]any); len(list) != 1 || list[0].(map[string]any)["status"] != "delivered" {
			return fmt.Errorf("deliveries: %v", list)
		}
		return nil
	})
}

// secureKafka is the SASL_SSL Apache Kafka under test; the test is skipped
// without one.
type secureKafka struct {
	brokers                   []string
	caFile, certFile, keyFile string
	user, password            string
}

func needSecureKafka(t *testing.T) secureKafka {
	t.Helper()
	get := func(k string) string { return os.Getenv("REELAY_TEST_KAFKA_SECURE_" + k) }
	if get("BROKERS") == "" {
		t.Skip("no SASL_SSL Kafka: run go tool task test:kafka:secure")
	}
	return secureKafka{
		brokers: strings.Split(get("BROKERS"), ","),
		caFile:  get("CA_FILE"), certFile: get("CERT_FILE"), keyFile: get("KEY_FILE"),
		user: get("USER"), password: get("PASSWORD"),
	}
}

// config is the test configuration on the secure Kafka with TLS (CA and
// client certificate) and mechanism.
func (k secureKafka) config(t *testing.T, mechanism string) config.Config {
	cfg := testConfig(t)
	cfg.KafkaBrokers = k.brokers
	cfg.KafkaSecurity = config.KafkaSecurity{
		TLS: true, TLSCAFile: k.caFile, TLSCertFile: k.certFile, TLSKeyFile: k.keyFile,
		SASLMechanism: mechanism, SASLUser: k.user, SASLPassword: k.password,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSecureKafkaSCRAM512 runs the events of every consumer group over
// SASL_SSL with SCRAM-SHA-512 and a client certificate.
func TestSecureKafkaSCRAM512(t *testing.T) {
	k := needSecureKafka(t)
	roundTrip(t, start(t, k.config(t, "SCRAM-SHA-512")))
}

// TestSecureKafkaPLAINAndSCRAM256 checks the other two mechanisms with one
// event each.
func TestSecureKafkaPLAINAndSCRAM256(t *testing.T) {
	k := needSecureKafka(t)
	for _, m := range []string{"PLAIN", "SCRAM-SHA-256"} {
		t.Run(m, func(t *testing.T) {
			in := start(t, k.config(t, m))
			movie := uid("secure")
			in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movie, "title": m})
			in.waitFor("/api/v1/movies/"+movie, fields(map[string]any{"title": m}))
		})
	}
}

// TestSecureKafkaWrongPasswordFailsFast: start-up stops within seconds with
// one line that says the broker refused the credentials, without the password.
func TestSecureKafkaWrongPasswordFailsFast(t *testing.T) {
	k := needSecureKafka(t)
	for _, m := range []string{"SCRAM-SHA-512", "PLAIN"} {
		t.Run(m, func(t *testing.T) {
			cfg := k.config(t, m)
			cfg.KafkaSecurity.SASLPassword = "not-" + k.password
			err, took := startErr(t, cfg)
			if !errors.Is(err, kafka.ErrAuthentication) {
				t.Fatalf("start: %v, want %v", err, kafka.ErrAuthentication)
			}
			msg := err.Error()
			if took > failFast || strings.Contains(msg, "\n") || strings.Contains(msg, k.password) ||
				!strings.Contains(msg, "SASL authentication failed") || !strings.Contains(msg, k.brokers[0]) {
				t.Fatalf("after %s: want within %s one line naming the broker, without the password: %s", took, failFast, msg)
			}
			t.Logf("refused in %s: %s", took.Round(time.Millisecond), msg)
		})
	}
}

// TestSecureKafkaUntrustedCAFailsFast: with a CA that did not sign the
// broker's certificate, start-up stops within seconds saying so.
func TestSecureKafkaUntrustedCAFailsFast(t *testing.T) {
	k := needSecureKafka(t)
	cfg := k.config(t, "SCRAM-SHA-512")
	cfg.KafkaSecurity.TLSCAFile = otherCA(t)
	err, took := startErr(t, cfg)
	if !errors.Is(err, kafka.ErrUntrustedCertificate) {
		t.Fatalf("start: %v, want %v", err, kafka.ErrUntrustedCertificate)
	}
	msg := err.Error()
	if took > failFast || strings.Contains(msg, "\n") || !strings.Contains(msg, "not trusted") || !strings.Contains(msg, k.brokers[0]) {
		t.Fatalf("after %s: want within %s one line naming the broker: %s", took, failFast, msg)
	}
	t.Logf("refused in %s: %s", took.Round(time.Millisecond), msg)
}

// TestSecureKafkaNeedsTheClientCertificate: the broker requires a client
// certificate, so the configured one is what lets the other tests in.
func TestSecureKafkaNeedsTheClientCertificate(t *testing.T) {
	k := needSecureKafka(t)
	cfg := k.config(t, "SCRAM-SHA-512")
	cfg.KafkaSecurity.TLSCertFile, cfg.KafkaSecurity.TLSKeyFile = "", ""
	err, took := startErr(t, cfg)
	if err == nil || took > failFast {
		t.Fatalf("without a client certificate: %v after %s, want an error within %s", err, took, failFast)
	}
	t.Logf("refused in %s: %v", took.Round(time.Millisecond), err)
}

// otherCA writes a self-signed CA certificate that signed nothing, and
// returns its path.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the broker's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
