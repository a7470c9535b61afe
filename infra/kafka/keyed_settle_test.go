package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/infra/kafka"
)

// TestKeyedSubscriberSettledByConsumer: with SettledByConsumer, Settle
// settles a message and Ack does not. One key, so each record waits for
// the one before it: a message settled as not acked comes again, even
// after an Ack; one settled as acked lets the next record out, and a second
// Settle of it changes nothing; a settled message's context ends; and the
// commit counts what was settled, so a new member starts after it.
func TestKeyedSubscriberSettledByConsumer(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "settle")
	group := uniqueName(t, "settle-group")
	createTopic(t, brokers, topic, 1)
	produce(t, producer(t, brokers),
		&kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("0")},
		&kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("1")},
		&kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("2")})

	sub, ch := settledSubscription(t, fastConfig(brokers, group), topic, 1)
	next := func(want, why string) *message.Message {
		t.Helper()
		msg := receive(t, ch, "no message: "+why)
		if string(msg.Payload) != want {
			t.Fatalf("got %q, want %q: %s", msg.Payload, want, why)
		}
		return msg
	}

	m := next("0", "the first record")
	kafka.Settle(m.Context(), false)
	if m.Context().Err() == nil {
		t.Fatal("the context of a settled message did not end")
	}
	m = next("0", "a message settled as not acked comes again")
	m.Ack() // watched by nobody
	kafka.Settle(m.Context(), false)
	m = next("0", "an Ack settled the message: the Settle after it did not send it again")
	kafka.Settle(m.Context(), true)
	kafka.Settle(m.Context(), false) // too late: the first Settle counted
	m = next("1", "the next record of the key, once the one before was settled as acked")
	kafka.Settle(m.Context(), true)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}

	wantGroupRestartsAt(t, brokers, group, topic, "2")
}

// TestKeyedSubscriberRevokeCancelsMessagesOfATopicThatChangedHands: with
// SettledByConsumer, messages a pattern subscription handed out and that
// are still out when an exact subscription takes their topic keep their
// context, while the messages sent after get new ones; when their partition
// is revoked, both are canceled.
func TestKeyedSubscriberRevokeCancelsMessagesOfATopicThatChangedHands(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	prefix := uniqueName(t, "hands") + "-"
	topic := prefix + "a"
	group := uniqueName(t, "hands-group")
	createTopic(t, brokers, topic, 2)
	manual := producePerPartition(t, brokers, topic)

	cfg := fastConfig(brokers, group)
	cfg.SettledByConsumer = true
	cfg.RevokeTimeout = 500 * time.Millisecond
	cfg.CloseTimeout = 500 * time.Millisecond
	cfg.ClientID = "first"
	first := newKeyed(t, cfg)
	pattern, err := first.Subscribe(context.Background(), prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	held := []*message.Message{receive(t, pattern, "no first message"), receive(t, pattern, "no second message")}
	exact, err := first.Subscribe(context.Background(), topic) // takes the topic from the pattern
	if err != nil {
		t.Fatal(err)
	}
	// A record of another key on each partition, through the exact
	// subscription: messages of both subscriptions are out on both.
	produce(t, manual, &kgo.Record{Topic: topic, Partition: 0, Key: []byte("k2"), Value: []byte("2")},
		&kgo.Record{Topic: topic, Partition: 1, Key: []byte("k3"), Value: []byte("3")})
	receive(t, exact, "no first message through the exact subscription")
	receive(t, exact, "no second message through the exact subscription")

	cfg.ClientID = "second"
	second := newKeyed(t, cfg)
	if _, err := second.Subscribe(context.Background(), topic); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		for _, m := range held {
			if m.Context().Err() != nil {
				return nil
			}
		}
		return fmt.Errorf("no held message's context was canceled: the partitions were not revoked, or their messages were forgotten")
	})
}

// TestKeyedSubscriberRuns: with MaxRun, the records that may go together
// come as one message (RunOf), each key's records side by side in offset
// order, and a run of one is a plain message; each record is settled on
// its own, and Settle on the run settles the ones left; no later record of
// a key goes while the run's last one of it is out, until Sequenced on the
// run puts the run's records in line; a key whose records are
// nacked comes again in order, as a run of its own; and what was acked is
// committed.
func TestKeyedSubscriberRuns(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "runs")
	group := uniqueName(t, "runs-group")
	createTopic(t, brokers, topic, 1)
	record := func(key string, i int) *kgo.Record {
		return &kgo.Record{Topic: topic, Key: []byte(key), Value: fmt.Appendf(nil, "%d", i)}
	}
	cl := producer(t, brokers)
	produce(t, cl, record("a", 0), record("a", 1), record("b", 2), record("a", 3), record("c", 4))

	sub, ch := settledSubscription(t, fastConfig(brokers, group), topic, 10)
	payloads := func(msgs []*message.Message) string {
		var got []string
		for _, m := range msgs {
			got = append(got, string(m.Payload))
		}
		return fmt.Sprint(got)
	}
	nextRun := func(want, why string) (*message.Message, []*message.Message) {
		t.Helper()
		msg := receive(t, ch, "no run: "+why)
		msgs, ok := kafka.RunOf(msg.Context())
		if !ok || payloads(msgs) != want {
			t.Fatalf("run %s (a run: %v, payload %q), want %s: %s", payloads(msgs), ok, msg.Payload, want, why)
		}
		return msg, msgs
	}

	whole, run := nextRun("[0 1 3 2 4]", "one fetch of five records, a's first")
	kafka.Settle(run[0].Context(), true)
	kafka.Settle(run[1].Context(), false) // and so the rest of a's after it
	kafka.Settle(run[2].Context(), false)
	kafka.Settle(run[0].Context(), false) // too late: the first Settle counted
	if run[0].Context().Err() == nil {
		t.Fatal("a settled record's context did not end")
	}
	kafka.Settle(whole.Context(), true)
	for _, m := range run {
		if m.Context().Err() == nil {
			t.Fatalf("record %s not settled by the run's Settle", m.Payload)
		}
	}
	whole, run = nextRun("[1 3]", "a's nacked records again, in order")
	if run[0].Context().Err() != nil {
		t.Fatal("a redelivered record's context has ended")
	}
	produce(t, cl, record("a", 5), record("d", 6))
	if m := receive(t, ch, "d's record"); string(m.Payload) != "6" {
		t.Fatalf("got %q while a's run is out, want d's record 6 alone", m.Payload)
	} else {
		kafka.Settle(m.Context(), true)
	}
	select {
	case m := <-ch:
		t.Fatalf("got %q while a's run is out", m.Payload)
	case <-time.After(300 * time.Millisecond):
	}
	kafka.Sequenced(whole.Context())
	if m := receive(t, ch, "a's next record, once its run was sequenced"); string(m.Payload) != "5" {
		t.Fatalf("got %q, want 5", m.Payload)
	} else {
		kafka.Settle(m.Context(), true)
	}
	kafka.Settle(whole.Context(), true)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}

	produce(t, cl, record("e", 7))
	wantGroupRestartsAt(t, brokers, group, topic, "7")
}

// TestKeyedSubscriberRunSettledTwiceAtOnce: the records of a run settled
// and sequenced one by one while the run is settled and sequenced as a
// whole, from other goroutines: it all finishes, and every record counts
// once, so the group commits them all. (Settle on a run claims each
// record's once before it takes the subscriber's lock, the order Settle on
// a record takes them in; this test exercises that, it cannot force the
// interleaving that would deadlock the other order.)
func TestKeyedSubscriberRunSettledTwiceAtOnce(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "runs-race")
	group := uniqueName(t, "runs-race-group")
	createTopic(t, brokers, topic, 1)
	const n = 64
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%8), Value: fmt.Appendf(nil, "%d", i)}
	}
	cl := producer(t, brokers)
	produce(t, cl, recs...)

	cfg := fastConfig(brokers, group)
	cfg.MaxInFlightPerPartition = n
	sub, ch := settledSubscription(t, cfg, topic, n)
	msg := receive(t, ch, "no run")
	run, ok := kafka.RunOf(msg.Context())
	if !ok || len(run) != n {
		t.Fatalf("a run of %d (a run: %v), want %d", len(run), ok, n)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for _, m := range run {
			wg.Go(func() {
				kafka.Sequenced(m.Context())
				kafka.Settle(m.Context(), true)
			})
		}
		wg.Go(func() { kafka.Sequenced(msg.Context()) })
		wg.Go(func() { kafka.Settle(msg.Context(), true) })
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("settling a run and its records at once did not finish")
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("last")})
	wantGroupRestartsAt(t, brokers, group, topic, "last")
}

// settledSubscription subscribes to topic with a subscriber whose consumer
// settles its messages (SettledByConsumer), in runs of up to maxRun.
func settledSubscription(t *testing.T, cfg kafka.KeyedSubscriberConfig, topic string, maxRun int) (*kafka.KeyedSubscriber, <-chan *message.Message) {
	t.Helper()
	cfg.SettledByConsumer, cfg.MaxRun = true, maxRun
	sub, err := kafka.NewKeyedSubscriber(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return sub, ch
}

// wantGroupRestartsAt checks what a new member of group reads first from
// topic: the record after those the group committed.
func wantGroupRestartsAt(t *testing.T, brokers []string, group, topic, want string) {
	t.Helper()
	ch, err := newKeyed(t, fastConfig(brokers, group)).Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, ch, "no message after the restart"); string(msg.Payload) != want {
		t.Fatalf("after the restart the group starts at %q, want %s: the settled records were not committed", msg.Payload, want)
	}
}
