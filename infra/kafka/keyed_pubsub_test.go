package kafka_test

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/reelay/reelay/infra/kafka"
)

// The KeyedSubscriber against Watermill's universal Pub/Sub suite, with
// Reelay's publisher (kafka.NewPublisher and its Marshaler) on the embedded
// broker, or on Apache Kafka when REELAY_TEST_KAFKA_BROKERS is set.
//
// Features, declared as watermill-kafka declares its own: consumer groups
// yes, persistent yes, exactly-once no. Order is guaranteed per key only:
// the suite's messages have no key (Reelay's publisher then spreads them
// over the partitions), so TestKeyedSubscriberPubSub declares no order, and
// TestKeyedSubscriberPubSubOrderPerKey runs the suite's two order tests with
// a publisher that keys each message by its payload, the suite's order
// group. NewSubscriberReceivesOldMessages is not declared: a subscriber is a
// consumer group member, and the suite's new subscribers share their group.

// pubSubGroup names the consumer group of one suite test: every
// subscriber the test builds shares it (the suite reads with several and
// expects them to share the work), and no two tests do.
func pubSubGroup(t *testing.T) string {
	h := fnv.New64a()
	fmt.Fprint(h, t.Name())
	return fmt.Sprintf("pubsub-%016x", h.Sum64())
}

func keyedPubSub(brokers []string, keyed bool) (tests.PubSubConstructor, tests.ConsumerGroupPubSubConstructor) {
	withGroup := func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
		pub, err := kafka.NewPublisher(brokers)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := kafka.NewKeyedSubscriber(fastConfig(brokers, group), testLogger())
		if err != nil {
			t.Fatal(err)
		}
		if keyed {
			return keyByPayload{pub}, sub
		}
		return pub, sub
	}
	return func(t *testing.T) (message.Publisher, message.Subscriber) { return withGroup(t, pubSubGroup(t)) }, withGroup
}

// keyByPayload keys every message by its payload.
type keyByPayload struct{ message.Publisher }

func (p keyByPayload) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		m.Metadata.Set(kafka.MetadataKey, string(m.Payload))
	}
	return p.Publisher.Publish(topic, msgs...)
}

func TestKeyedSubscriberPubSub(t *testing.T) {
	start := time.Now()
	plain, withGroup := keyedPubSub(testBrokers(t), false)
	tests.TestPubSub(t, tests.Features{
		ConsumerGroups:      true,
		ExactlyOnceDelivery: false,
		GuaranteedOrder:     false,
		Persistent:          true,
		ForceShort:          testing.Short(),
	}, plain, withGroup)
	t.Cleanup(func() { t.Logf("universal suite took %s", time.Since(start).Round(time.Millisecond)) })
}

func TestKeyedSubscriberPubSubOrderPerKey(t *testing.T) {
	keyed, _ := keyedPubSub(testBrokers(t), true)
	features := tests.Features{ConsumerGroups: true, GuaranteedOrder: true, Persistent: true, ForceShort: testing.Short()}
	for name, fn := range map[string]func(*testing.T, tests.TestContext, tests.PubSubConstructor){
		"TestPublishSubscribeInOrder": tests.TestPublishSubscribeInOrder,
		"TestNoAck":                   tests.TestNoAck,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			id := tests.NewTestID()
			t.Run(string(id), func(t *testing.T) { fn(t, tests.TestContext{TestID: id, Features: features}, keyed) })
		})
	}
}
