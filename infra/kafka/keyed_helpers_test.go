package kafka_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/infra/kafka"
)

// externalKafka is the Apache Kafka cluster under test
// (REELAY_TEST_KAFKA_BROKERS), or nil for the embedded broker.
func externalKafka() []string {
	if b := os.Getenv("REELAY_TEST_KAFKA_BROKERS"); b != "" {
		return strings.Split(b, ",")
	}
	return nil
}

// testBrokers returns the cluster a test runs on: Apache Kafka when
// REELAY_TEST_KAFKA_BROKERS is set, else an embedded broker of its own,
// reached over TCP.
func testBrokers(t *testing.T) []string {
	t.Helper()
	if b := externalKafka(); b != nil {
		return b
	}
	e, err := kafka.StartEmbedded("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return []string{e.Addr()}
}

// uniqueName is name made unique per test and run, so that tests sharing
// an Apache Kafka cluster share no topic or group.
func uniqueName(t *testing.T, name string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", t.Name(), time.Now().UnixNano())
	return fmt.Sprintf("%s-%08x", name, h.Sum32())
}

// testLogger keeps the subscriber's warnings and errors on stderr; with
// REELAY_TEST_LOG=info (or debug) it says more, e.g. every assignment and
// revoke.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	_ = level.UnmarshalText([]byte(os.Getenv("REELAY_TEST_LOG")))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// fastConfig is a subscriber configuration with short waits, for tests.
func fastConfig(brokers []string, group string) kafka.KeyedSubscriberConfig {
	return kafka.KeyedSubscriberConfig{
		Brokers:                   brokers,
		ConsumerGroup:             group,
		CommitInterval:            200 * time.Millisecond,
		RevokeTimeout:             3 * time.Second,
		CloseTimeout:              3 * time.Second,
		SessionTimeout:            6 * time.Second,
		HeartbeatInterval:         500 * time.Millisecond,
		FetchMaxWait:              200 * time.Millisecond,
		PatternScanInterval:       200 * time.Millisecond,
		NackBackoff:               20 * time.Millisecond,
		InitializeTopicPartitions: 8,
	}
}

// newKeyed starts a subscriber that the test closes at its end.
func newKeyed(t *testing.T, cfg kafka.KeyedSubscriberConfig) *kafka.KeyedSubscriber {
	t.Helper()
	s, err := kafka.NewKeyedSubscriber(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// createTopic creates topic with partitions partitions.
func createTopic(t *testing.T, brokers []string, topic string, partitions int32) {
	t.Helper()
	a, err := kafka.NewAdmin(brokers, partitions, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics(topic); err != nil {
		t.Fatal(err)
	}
}

// producer is a franz-go producer for the test's records.
func producer(t *testing.T, brokers []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// producePerPartition writes record "0" (key k0) to partition 0 of topic and
// "1" (key k1) to partition 1, and returns the producer, which places each
// record on the partition it names.
func producePerPartition(t *testing.T, brokers []string, topic string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	produce(t, cl, &kgo.Record{Topic: topic, Partition: 0, Key: []byte("k0"), Value: []byte("0")},
		&kgo.Record{Topic: topic, Partition: 1, Key: []byte("k1"), Value: []byte("1")})
	return cl
}

// produce writes recs and fails the test unless every one is acknowledged.
func produce(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// receive returns the next message of ch, failing the test with what
// when none comes within 30 s.
func receive(t *testing.T, ch <-chan *message.Message, what string) *message.Message {
	t.Helper()
	select {
	case msg := <-ch:
		return msg
	case <-time.After(30 * time.Second):
		t.Fatal(what)
		return nil
	}
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t *testing.T, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ledger records what handlers saw, safe for concurrent use.
type ledger struct {
	mu       sync.Mutex
	byKey    map[string][]int // payload sequence numbers, in the order handled
	seen     map[string]int   // deliveries per record id
	inFlight map[string]int   // per topic/partition, now
	maxOut   map[string]int   // per topic/partition, the most at once
}

func newLedger() *ledger {
	return &ledger{byKey: map[string][]int{}, seen: map[string]int{}, inFlight: map[string]int{}, maxOut: map[string]int{}}
}

func (l *ledger) start(partition string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight[partition]++
	l.maxOut[partition] = max(l.maxOut[partition], l.inFlight[partition])
}

func (l *ledger) finish(partition, key, id string, seq int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight[partition]--
	l.byKey[key] = append(l.byKey[key], seq)
	l.seen[id]++
}

func (l *ledger) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}
