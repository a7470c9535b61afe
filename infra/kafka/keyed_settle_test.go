package kafka_test

import (
	"context"
	"testing"

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

	cfg := fastConfig(brokers, group)
	cfg.SettledByConsumer = true
	sub, err := kafka.NewKeyedSubscriber(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
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

	again := newKeyed(t, fastConfig(brokers, group))
	ch2, err := again.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, ch2, "no message after the restart"); string(msg.Payload) != "2" {
		t.Fatalf("after the restart the group starts at %q, want 2: the settled records were not committed", msg.Payload)
	}
}
