package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// runRecord is a record of a test run: a view of user for key, or, with
// raw, that value as it is.
type runRecord struct {
	key, user string
	raw       string
}

// runFrom produces recs to a topic of one partition of an embedded broker,
// in one request, and returns the run a KeyedSubscriber hands them out as,
// with the subscription's channel for what comes after, and the subscriber.
func runFrom(t *testing.T, recs ...runRecord) (*message.Message, []*message.Message, <-chan *message.Message, *kafka.KeyedSubscriber) {
	t.Helper()
	broker, err := kafka.StartEmbedded("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	brokers := []string{broker.Addr()}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("views"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "views"); err != nil {
		t.Fatal(err)
	}
	batch := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		env, err := events.NewWithID(fmt.Sprint("e", i), events.TypeMovieViewed, "test", r.key,
			events.MovieViewed{MovieID: r.key, UserID: r.user})
		if err != nil {
			t.Fatal(err)
		}
		batch[i] = &kgo.Record{Key: []byte(r.key), Value: env.Data}
		if r.raw != "" {
			batch[i].Value = []byte(r.raw)
		}
		for k, v := range env.Headers() {
			batch[i].Headers = append(batch[i].Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
	}
	if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	sub, err := kafka.NewKeyedSubscriber(kafka.KeyedSubscriberConfig{Brokers: brokers, ConsumerGroup: "g",
		SettledByConsumer: true, MaxRun: 100, NackBackoff: 10 * time.Millisecond, InitializeTopicPartitions: 1,
		FetchMaxWait: 100 * time.Millisecond, CloseTimeout: 200 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	ch, err := sub.Subscribe(context.Background(), "views")
	if err != nil {
		t.Fatal(err)
	}
	msg := receiveWithin(t, ch)
	msgs, ok := kafka.RunOf(msg.Context())
	if !ok || len(msgs) != len(recs) {
		t.Fatalf("the %d records came as a run of %d (a run: %v)", len(recs), len(msgs), ok)
	}
	return msg, msgs, ch, sub
}

func receiveWithin(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case msg := <-ch:
		return msg
	case <-time.After(30 * time.Second):
		t.Fatal("no message within 30 s")
		return nil
	}
}

// stubInbox applies batches as the store would, with the events of
// applied (by id) applied before; with fail, every batch fails.
type stubInbox struct {
	appliedBatches
	fail    error
	applied map[string]bool
	batches [][]string
}

func (s *stubInbox) ApplyBatch(ctx context.Context, _ string, ids []string, fn func(context.Context, []int) error) ([]int, error) {
	s.mu.Lock()
	s.batches = append(s.batches, ids)
	s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	var fresh []int
	for i, id := range ids {
		if !s.applied[id] {
			fresh = append(fresh, i)
		}
	}
	return fresh, fn(ctx, fresh)
}

// runTest is a consumer of one batch route behind runs, whose route and
// chain (h) record what they see.
type runTest struct {
	inbox    *stubInbox
	runs     *runs
	mu       sync.Mutex
	batched  []string // users, in the order the route saw them
	chain    []string // users, in the order the chain saw them
	alone    []bool
	observed []string // outcomes
	failUser string   // the chain fails this user's event
}

func newRunTest(sideEffects bool) *runTest {
	rt := &runTest{inbox: &stubInbox{applied: map[string]bool{}}}
	route := events.OnBatch(events.TypeMovieViewed, func(_ context.Context, batch []events.Item[events.MovieViewed]) error {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		for _, it := range batch {
			rt.batched = append(rt.batched, it.Data.UserID)
		}
		return nil
	})
	c := events.Consumer{Group: "g", Routes: []events.Route{route}, SideEffects: sideEffects}
	b := newBatcher(c, rt.inbox, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewHistogram(prometheus.HistogramOpts{Name: "b"}))
	rt.runs = &runs{consumer: c, batcher: b, whole: true, observe: func(msg *message.Message, err error, _ time.Duration) {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		rt.observed = append(rt.observed, outcomeOf(msg, err))
	}}
	return rt
}

// handle runs msg through runs, in front of a chain that records the
// events it sees.
func (rt *runTest) handle(t *testing.T, msg *message.Message) {
	t.Helper()
	h := rt.runs.middleware(func(m *message.Message) ([]*message.Message, error) {
		var v events.MovieViewed
		_ = json.Unmarshal(m.Payload, &v)
		rt.mu.Lock()
		defer rt.mu.Unlock()
		rt.chain = append(rt.chain, v.UserID)
		rt.alone = append(rt.alone, isAlone(m.Context()))
		if rt.failUser != "" && v.UserID == rt.failUser {
			return nil, errors.New("failed")
		}
		return nil, nil
	})
	if _, err := h(msg); err != nil {
		t.Fatal(err)
	}
}

func settledAll(t *testing.T, msgs []*message.Message) {
	t.Helper()
	for _, m := range msgs {
		if m.Context().Err() == nil {
			t.Fatalf("%s was not settled", m.Payload)
		}
	}
}

// TestRunJoinsABatchWhole: a run of a batch route's events is applied in
// one batch, its event applied before counted a duplicate, without the
// chain, and every record is settled.
func TestRunJoinsABatchWhole(t *testing.T) {
	t.Parallel()
	msg, msgs, _, _ := runFrom(t, runRecord{key: "m1", user: "u0"}, runRecord{key: "m2", user: "u1"},
		runRecord{key: "m1", user: "u2"}, runRecord{key: "m1", user: "u3"})
	rt := newRunTest(false)
	rt.inbox.applied[msgs[1].UUID] = true // u2: the run lists m1's records first
	rt.handle(t, msg)
	if len(rt.inbox.batches) != 1 || len(rt.inbox.batches[0]) != 4 {
		t.Fatalf("batches %v, want one of the 4 events", rt.inbox.batches)
	}
	if want := []string{"u0", "u3", "u1"}; !slices.Equal(rt.batched, want) || len(rt.chain) != 0 {
		t.Fatalf("the route saw %v (want %v), the chain %v (want none)", rt.batched, want, rt.chain)
	}
	if want := []string{"applied", "duplicate", "applied", "applied"}; !slices.Equal(rt.observed, want) {
		t.Fatalf("outcomes %v, want %v", rt.observed, want)
	}
	settledAll(t, msgs)
}

// TestRunGoesEventByEventWhenItCannotBatch: a run with a record that does
// not decode, a run of a consumer with side effects, and a run while
// tracing is on go through the chain a record at a time, in run order.
func TestRunGoesEventByEventWhenItCannotBatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                string
		malformed, effects  bool
		traced              bool
		wantChain, wantSeen []string
	}{
		{name: "a record does not decode", malformed: true, wantChain: []string{"u0", "u1", "", "u3"}},
		{name: "side effects", effects: true, wantChain: []string{"u0", "u1", "u2", "u3"}},
		{name: "tracing", traced: true, wantChain: []string{"u0", "u1", "u2", "u3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			third := runRecord{key: "m1", user: "u2"}
			if c.malformed {
				third.raw = "{not json"
			}
			msg, msgs, _, _ := runFrom(t, runRecord{key: "m1", user: "u0"}, runRecord{key: "m1", user: "u1"}, third, runRecord{key: "m1", user: "u3"})
			rt := newRunTest(c.effects)
			rt.runs.whole = !c.traced
			rt.handle(t, msg)
			if !slices.Equal(rt.chain, c.wantChain) || slices.Contains(rt.alone, true) {
				t.Fatalf("the chain saw %v (alone %v), want %v, none alone", rt.chain, rt.alone, c.wantChain)
			}
			if len(rt.inbox.batches) != 0 || len(rt.observed) != 0 {
				t.Fatalf("runs applied batches %v and observed %v itself", rt.inbox.batches, rt.observed)
			}
			settledAll(t, msgs)
		})
	}
}

// TestRunAfterAFailedBatchGoesAlone: when a run's batch fails, each of its
// events goes through the chain alone, so that the one that failed the
// batch fails alone.
func TestRunAfterAFailedBatchGoesAlone(t *testing.T) {
	t.Parallel()
	msg, msgs, _, _ := runFrom(t, runRecord{key: "m1", user: "u0"}, runRecord{key: "m1", user: "u1"}, runRecord{key: "m1", user: "u2"})
	rt := newRunTest(false)
	rt.inbox.fail = errors.New("constraint failed")
	rt.handle(t, msg)
	if want := []string{"u0", "u1", "u2"}; !slices.Equal(rt.chain, want) || !slices.Equal(rt.alone, []bool{true, true, true}) {
		t.Fatalf("the chain saw %v, alone %v; want %v, each alone", rt.chain, rt.alone, want)
	}
	if len(rt.inbox.batches) != 1 || len(rt.observed) != 0 {
		t.Fatalf("batches %v, observed %v: want the one that failed, no outcome of runs' own", rt.inbox.batches, rt.observed)
	}
	settledAll(t, msgs)
}

// TestRunKeyStopsAtItsFirstFailure: a record the chain does not ack holds
// back its key's records after it in the run, which come again behind it,
// in order; other keys go on and are acked.
func TestRunKeyStopsAtItsFirstFailure(t *testing.T) {
	t.Parallel()
	msg, msgs, ch, _ := runFrom(t, runRecord{key: "m1", user: "u0"}, runRecord{key: "m2", user: "u1"},
		runRecord{key: "m1", user: "u2"}, runRecord{key: "m1", user: "u3"})
	rt := newRunTest(true)
	rt.failUser = "u2"
	rt.handle(t, msg)
	var m1 []string
	for _, u := range rt.chain {
		if u != "u1" {
			m1 = append(m1, u)
		}
	}
	if !slices.Equal(m1, []string{"u0", "u2"}) || !slices.Contains(rt.chain, "u1") {
		t.Fatalf("the chain saw %v: want m1's u0 and u2, not u3 after u2 failed, and m2's u1", rt.chain)
	}
	settledAll(t, msgs)
	again, ok := kafka.RunOf(receiveWithin(t, ch).Context())
	if !ok || len(again) != 2 || again[0].UUID != msgs[1].UUID || again[1].UUID != msgs[2].UUID {
		t.Fatalf("came again: %d records (a run: %v), want u2 and u3, in order", len(again), ok)
	}
}

// TestRunOfAClosingSubscriberComesAgain: a run whose partition is given up
// before its batch is applied is not applied; runs reports it to be
// delivered again, as redelivered.
func TestRunOfAClosingSubscriberComesAgain(t *testing.T) {
	t.Parallel()
	msg, _, _, sub := runFrom(t, runRecord{key: "m1", user: "u0"}, runRecord{key: "m1", user: "u1"})
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	wantRunComesAgain(t, msg)
}

// TestRunOfAClosingRouterComesAgain: when the run's message context ends
// (Watermill cancels it as the router closes) before its batch is applied,
// the batch is left for redelivery, as for a message of one record.
func TestRunOfAClosingRouterComesAgain(t *testing.T) {
	t.Parallel()
	msg, msgs, _, _ := runFrom(t, runRecord{key: "m1", user: "u0"}, runRecord{key: "m2", user: "u1"})
	ctx, cancel := context.WithCancel(msg.Context())
	cancel()
	msg.SetContext(ctx)
	wantRunComesAgain(t, msg)
	for _, m := range msgs {
		if m.Context().Err() != nil {
			t.Fatalf("%s was settled: the settle middleware outside settles it", m.Payload)
		}
	}
}

// wantRunComesAgain checks that runs leaves the run of two records msg,
// whose context has ended, unapplied for redelivery: errShuttingDown, no
// batch, both counted redelivered.
func wantRunComesAgain(t *testing.T, msg *message.Message) {
	t.Helper()
	rt := newRunTest(false)
	h := rt.runs.middleware(func(*message.Message) ([]*message.Message, error) { return nil, errors.New("not the chain") })
	if _, err := h(msg); !errors.Is(err, errShuttingDown) {
		t.Fatalf("err %v, want errShuttingDown", err)
	}
	if len(rt.inbox.batches) != 0 || !slices.Equal(rt.observed, []string{"redelivered", "redelivered"}) {
		t.Fatalf("batches %v, outcomes %v", rt.inbox.batches, rt.observed)
	}
}
