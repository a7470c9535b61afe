package kafka_test

import (
	"context"
	"fmt"
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
