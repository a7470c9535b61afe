package kafka

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKeyedSubscriberBoundsBufferedBytes: 3 MiB of 16 KiB records (one per
// producer batch: a fetch returns whole batches, so a batch is the bound's
// granularity) on one partition, one key held unacked at the head:
// fetching pauses once the partition holds its byte bound (128 KiB), far
// below the record bounds, so the buffer stays within twice that; once the
// messages are acked every record still arrives.
func TestKeyedSubscriberBoundsBufferedBytes(t *testing.T) {
	t.Parallel()
	e, err := StartEmbedded("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	const n, size, bound = 200, 16 << 10, 128 << 10
	a, err := NewAdmin([]string{e.Addr()}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics("big"); err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()), kgo.ProducerBatchMaxBytes(20<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var recs []*kgo.Record
	for i := range n {
		value := make([]byte, size)
		_, _ = rand.Read(value) // incompressible: a fetch is bounded on the wire
		recs = append(recs, &kgo.Record{Topic: "big", Key: fmt.Appendf(nil, "k%d", i), Value: value})
	}
	if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	s, err := NewKeyedSubscriber(KeyedSubscriberConfig{
		Brokers: []string{e.Addr()}, ConsumerGroup: "big-group",
		MaxInFlightPerPartition: 1, MaxBufferedBytes: 4 * bound, MaxBufferedBytesPerPartition: bound,
		FetchMaxWait: 100 * time.Millisecond,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ch, err := s.Subscribe(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	held := func() (records int, bytes int64, paused bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.parts {
			return p.queue.held, p.queue.heldBytes, p.paused
		}
		return 0, 0, false
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, paused := held(); paused || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // fetches that were under way land
	records, bytes, paused := held()
	if !paused || bytes > 2*bound {
		t.Fatalf("holding %d records of %d bytes (paused %v), want paused within %d bytes", records, bytes, paused, 2*bound)
	}
	t.Logf("paused holding %d records of %d bytes", records, bytes)

	first.Ack()
	got := 1
	for got < n {
		select {
		case msg := <-ch:
			msg.Ack()
			got++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d records after the acks", got, n)
		}
	}
}
