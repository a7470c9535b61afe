package router

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/reelay/reelay/events"
)

// appliedBatches is an Inbox stub at the edge of the batcher: every event is
// new, the first batch waits for release, and each batch's events are
// size recorded.
type appliedBatches struct {
	mu      sync.Mutex
	sizes   []int
	release chan struct{}
	first   sync.Once
}

func (a *appliedBatches) Apply(context.Context, string, string, func(context.Context) error) (bool, error) {
	return false, fmt.Errorf("not a batch")
}
func (a *appliedBatches) Applied(context.Context, string, string) (bool, error) { return false, nil }
func (a *appliedBatches) ApplyBatch(ctx context.Context, _ string, ids []string, fn func(context.Context, []int) error) ([]int, error) {
	a.first.Do(func() { <-a.release })
	a.mu.Lock()
	a.sizes = append(a.sizes, len(ids))
	a.mu.Unlock()
	fresh := make([]int, len(ids))
	for i := range fresh {
		fresh[i] = i
	}
	return fresh, fn(ctx, fresh)
}

func viewMessage(t *testing.T, seq int) *message.Message {
	t.Helper()
	env, err := events.NewWithID(fmt.Sprint("e", seq), events.TypeMovieViewed, "test", "m1",
		events.MovieViewed{MovieID: "m1", UserID: fmt.Sprint("u", seq)})
	if err != nil {
		t.Fatal(err)
	}
	msg := message.NewMessage(fmt.Sprint("id-", seq), message.Payload(env.Data))
	for k, v := range env.Headers() {
		msg.Metadata.Set(k, v)
	}
	return msg
}

// TestBatcherKeepsKeyOrder feeds one key's events as the KeyedSubscriber
// does once events are sequenced: the next only after the previous one has
// joined a batch. While the first batch is held, the others gather; the
// route sees every event once, in offset order, and a batch holds several.
func TestBatcherKeepsKeyOrder(t *testing.T) {
	t.Parallel()
	const n = 50
	ib := &appliedBatches{release: make(chan struct{})}
	var seen []string
	var mu sync.Mutex
	route := events.OnBatch(events.TypeMovieViewed, func(_ context.Context, batch []events.Item[events.MovieViewed]) error {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range batch {
			seen = append(seen, it.Data.UserID)
		}
		return nil
	})
	sizes := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sizes", Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	b := newBatcher(events.Consumer{Group: "g", Routes: []events.Route{route}}, ib, time.Minute,
		slog.New(slog.NewTextHandler(io.Discard, nil)), sizes)
	joined := make(chan struct{}, 1)
	b.sequenced = func(context.Context) { joined <- struct{}{} }
	h := b.middleware(func(*message.Message) ([]*message.Message, error) {
		return nil, fmt.Errorf("an event of a batch route went alone")
	})
	var wg sync.WaitGroup
	for seq := range n {
		msg := viewMessage(t, seq)
		wg.Go(func() {
			if _, err := h(msg); err != nil {
				t.Error(err)
			}
		})
		<-joined
		if seq == n/2 {
			close(ib.release)
		}
	}
	wg.Wait()
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint("u", i)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("applied %v, want %v", seen, want)
	}
	if slices.Max(ib.sizes) < 2 {
		t.Fatalf("batch sizes %v: no batch held more than one event of the key", ib.sizes)
	}
	// reelay_batch_events saw each batch once, with its size.
	var m dto.Metric
	if err := sizes.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetHistogram(); got.GetSampleCount() != uint64(len(ib.sizes)) || got.GetSampleSum() != n {
		t.Fatalf("batch histogram: %d batches of %v events in all; want %d (%v) of %d", got.GetSampleCount(), got.GetSampleSum(), len(ib.sizes), ib.sizes, n)
	}
}
