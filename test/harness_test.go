package test_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/sqlstore/sqlstoretest"
)

// externalBrokers is the Apache Kafka cluster under test, or nil for the embedded broker.
func externalBrokers() []string {
	if b := os.Getenv("REELAY_TEST_KAFKA_BROKERS"); b != "" {
		return strings.Split(b, ",")
	}
	return nil
}

// parallel runs the test in parallel when each test has its own embedded
// broker; tests that share an external cluster share its consumer groups, so
// they run one at a time.
func parallel(t *testing.T) {
	if externalBrokers() == nil {
		t.Parallel()
	}
}

// instance is one running Reelay process.
type instance struct {
	t    *testing.T
	app  *fx.App
	cfg  config.Config
	base string // http://host:port
	// Brokers the instance uses.
	brokers []string
	stopped bool
}

// testConfig is a configuration on a fresh temp dir with free ports, fast
// retries and a fast topic scan. On PostgreSQL each test gets its own schema.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.EmbeddedKafkaAddr = "127.0.0.1:0"
	cfg.DatabaseURL = filepath.Join(cfg.DataDir, "reelay.db")
	cfg.KafkaBrokers = externalBrokers()
	cfg.RetryMax = 3
	cfg.RetryInitial = 20 * time.Millisecond
	cfg.TopicScanInterval = 200 * time.Millisecond
	cfg.ShutdownTimeout = 15 * time.Second
	cfg.LogLevel = "warn"
	if url := os.Getenv("REELAY_TEST_DATABASE_URL"); url != "" {
		if cfg.DatabaseURL, err = sqlstoretest.IsolatedSchema(context.Background(), url, t.Name()); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// start runs the app with cfg and waits until /readyz answers 200.
func start(t *testing.T, cfg config.Config, opts ...fx.Option) *instance {
	t.Helper()
	var srv *httpapi.Server
	var brokers app.Brokers
	opts = append(opts, fx.Populate(&srv, &brokers), fx.Decorate(func() *slog.Logger { return fileLogger(t) }))
	a := app.New(cfg, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	in := &instance{t: t, app: a, cfg: cfg, base: "http://" + srv.Addr(), brokers: brokers}
	t.Cleanup(in.stop)
	eventually(t, 60*time.Second, func() error {
		code, body := in.do(http.MethodGet, "/readyz", nil, nil)
		if code != http.StatusOK {
			return fmt.Errorf("readyz %d %v", code, body)
		}
		return nil
	})
	return in
}

// fileLogger writes the app's logs to a file in the test's temp dir and
// prints its tail when the test fails.
func fileLogger(t *testing.T) *slog.Logger {
	path := filepath.Join(t.TempDir(), "reelay.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			raw, _ := os.ReadFile(path)
			if len(raw) > 8000 {
				raw = raw[len(raw)-8000:]
			}
			t.Logf("app log tail:\n%s", raw)
		}
	})
	return slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// stop stops the app as SIGTERM would.
func (in *instance) stop() {
	if in.stopped {
		return
	}
	in.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := in.app.Stop(ctx); err != nil {
		in.t.Errorf("stop: %v", err)
	}
}

// do sends a request and decodes the JSON answer.
func (in *instance) do(method, path string, body any, headers map[string]string) (int, any) {
	in.t.Helper()
	var reqBody []byte
	switch b := body.(type) {
	case nil:
	case string:
		reqBody = []byte(b)
	case []byte:
		reqBody = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			in.t.Fatal(err)
		}
		reqBody = raw
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequest(method, in.base+path, rd)
	if err != nil {
		in.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	var out any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		in.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
	}
	checkOpenAPI(in.t, req, reqBody, resp, raw)
	return resp.StatusCode, out
}

// mustAccept posts and fails unless the answer is 202; it returns the body.
func (in *instance) mustAccept(method, path string, body any) map[string]any {
	in.t.Helper()
	code, out := in.do(method, path, body, nil)
	if code != http.StatusAccepted {
		in.t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out.(map[string]any)
}

// getJSON fetches path and expects 200.
func (in *instance) getJSON(path string) (any, error) {
	code, out := in.do(http.MethodGet, path, nil, nil)
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %v", path, code, out)
	}
	return out, nil
}

// waitFor polls path until check accepts its JSON or the deadline passes.
func (in *instance) waitFor(path string, check func(v map[string]any) error) map[string]any {
	in.t.Helper()
	var last map[string]any
	eventually(in.t, wait, func() error {
		v, err := in.getJSON(path)
		if err != nil {
			return err
		}
		last, _ = v.(map[string]any)
		return check(last)
	})
	return last
}

// eventually polls fn until it returns nil, failing the test with its last
// error at the deadline.
func eventually(t *testing.T, within time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fields compares a JSON object's fields to want exactly (numbers as float64).
func fields(want map[string]any) func(map[string]any) error {
	return func(got map[string]any) error {
		for k, w := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(w) {
				return fmt.Errorf("%s = %v, want %v (all: %v)", k, got[k], w, got)
			}
		}
		return nil
	}
}

// uid makes ids unique per test, so suites can share an external cluster.
func uid(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

// saramaConfig is a plain client configuration for tests that produce or
// read records directly.
func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V3_6_0_0
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Partitioner = sarama.NewMurmur2Partitioner // as Reelay's producer, Java's and kafkajs's
	return c
}

// produce writes raw records with a plain Sarama producer, as any external
// producer would.
func (in *instance) produce(topic, key string, value []byte, headers map[string]string) (partition int32) {
	in.t.Helper()
	p, err := sarama.NewSyncProducer(in.brokers, saramaConfig())
	if err != nil {
		in.t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}
	for k, v := range headers {
		msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	partition, _, err = p.SendMessage(msg)
	if err != nil {
		in.t.Fatal(err)
	}
	return partition
}

// readTopic returns every record of topic with the given key, oldest first per partition.
func (in *instance) readTopic(topic, key string) []*sarama.ConsumerMessage {
	in.t.Helper()
	client, err := sarama.NewClient(in.brokers, saramaConfig())
	if err != nil {
		in.t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		in.t.Fatal(err)
	}
	defer func() { _ = consumer.Close() }()
	parts, err := client.Partitions(topic)
	if err != nil {
		in.t.Fatal(err)
	}
	var out []*sarama.ConsumerMessage
	for _, p := range parts {
		high, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			in.t.Fatal(err)
		}
		low, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			in.t.Fatal(err)
		}
		if high <= low {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, low)
		if err != nil {
			in.t.Fatal(err)
		}
		for off := low; off < high; {
			select {
			case m := <-pc.Messages():
				off = m.Offset + 1
				if string(m.Key) == key {
					out = append(out, m)
				}
			case <-time.After(10 * time.Second):
				in.t.Fatalf("reading %s/%d stalled at %d of %d", topic, p, off, high)
			}
		}
		_ = pc.Close()
	}
	return out
}

func headerMap(m *sarama.ConsumerMessage) map[string]string {
	h := map[string]string{}
	for _, rh := range m.Headers {
		h[string(rh.Key)] = string(rh.Value)
	}
	return h
}

// wait bounds every poll for an effect.
const wait = 30 * time.Second
