package kafka

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// heldCluster is a kfake cluster whose produce requests wait while hold
// is set, until release is closed.
func heldCluster(t *testing.T, topic string) (brokers []string, hold *atomic.Bool, release func()) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	hold = &atomic.Bool{}
	released := make(chan struct{})
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if hold.Load() {
			cluster.SleepControl(func() { <-released })
		}
		return nil, nil, false
	})
	return cluster.ListenAddrs(), hold, func() { hold.Store(false); close(released) }
}

// recordsIn counts the records of topic's partition 0.
func recordsIn(t *testing.T, brokers []string, topic string) int {
	t.Helper()
	c, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fetches := c.PollFetches(ctx)
		cancel()
		if fetches.NumRecords() == 0 {
			return n
		}
		n += fetches.NumRecords()
	}
}

// waitPending polls until p counts n pending records, for 10 s at most.
func waitPending(t *testing.T, p *Publisher, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.pending.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records pending, want %d", p.pending.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func record(topic, value string) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder(value)}
}

// TestPublisherSendIsBoundedAndTheRecordStillLands: with the broker's
// produce requests held, Send returns ErrPublishTimeout at its deadline and
// ctx's error when ctx ends first; past maxPending records waiting, a send
// fails at once. Once the broker lets go, every record handed over is
// written, in order, the count of pending records is back to 0, and a send
// succeeds.
func TestPublisherSendIsBoundedAndTheRecordStillLands(t *testing.T) {
	t.Parallel()
	brokers, hold, release := heldCluster(t, "held")
	p, err := NewPublisher(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	p.maxPending = 3

	hold.Store(true)
	began := time.Now()
	if err := p.Send(context.Background(), record("held", "a"), 200*time.Millisecond); !errors.Is(err, ErrPublishTimeout) {
		t.Fatalf("held broker: %v, want ErrPublishTimeout", err)
	}
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Fatalf("gave up after %s, before its deadline", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err = p.Send(ctx, record("held", "b"), time.Hour)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ended ctx: %v, want its error", err)
	}
	if err := p.Send(context.Background(), record("held", "c"), 100*time.Millisecond); !errors.Is(err, ErrPublishTimeout) {
		t.Fatalf("third: %v", err)
	}
	began = time.Now()
	err = p.Send(context.Background(), record("held", "d"), time.Hour)
	if !errors.Is(err, ErrPublishTimeout) || !strings.Contains(err.Error(), "3 records still waiting") {
		t.Fatalf("past the bound: %v, want ErrPublishTimeout at once", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Fatalf("refused after %s, want at once", took)
	}

	release()
	waitPending(t, p, 0)
	if err := p.Send(context.Background(), record("held", "e"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := recordsIn(t, brokers, "held"); n != 4 {
		t.Fatalf("%d records written, want a, b, c (given up on, written anyway) and e", n)
	}
}

// TestPublisherCloseAnswersWhatIsInFlight: a send waiting for a held
// broker when Close begins gets its answer (the record is flushed), and a
// send after Close fails with ErrPublisherClosed.
func TestPublisherCloseAnswersWhatIsInFlight(t *testing.T) {
	t.Parallel()
	brokers, hold, release := heldCluster(t, "closing")
	p, err := NewPublisher(brokers)
	if err != nil {
		t.Fatal(err)
	}
	hold.Store(true)
	sent := make(chan error, 1)
	go func() { sent <- p.Send(context.Background(), record("closing", "a"), 0) }()
	waitPending(t, p, 1)
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-sent:
		t.Fatalf("send answered %v while the broker holds it", err)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	if err := <-sent; err != nil {
		t.Fatalf("send in flight at Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), record("closing", "b"), time.Second); !errors.Is(err, ErrPublisherClosed) {
		t.Fatalf("send after Close: %v, want ErrPublisherClosed", err)
	}
	if n := recordsIn(t, brokers, "closing"); n != 1 {
		t.Fatalf("%d records written, want 1", n)
	}
}
