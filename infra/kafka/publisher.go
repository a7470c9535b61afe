package kafka

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// NewPublisher returns the process's one Watermill publisher: a synchronous,
// idempotent Sarama producer with acks=all, connected with WithSecurity's TLS
// and SASL, if given. Publish returns only after every in-sync replica has
// the message, or with an error.
func NewPublisher(brokers []string, logger *slog.Logger, opts ...Option) (message.Publisher, error) {
	sec := applyOptions(opts).security
	pub, err := wmkafka.NewPublisher(wmkafka.PublisherConfig{
		Brokers:               brokers,
		Marshaler:             Marshaler{},
		OverwriteSaramaConfig: producerConfig("reelay-producer", sec),
	}, watermill.NewSlogLogger(logger))
	if err != nil {
		return nil, connectError("kafka publisher", brokers, sec, err)
	}
	return pub, nil
}

// Events publishes envelopes through a Watermill publisher.
type Events struct{ pub message.Publisher }

// NewEvents wraps pub.
func NewEvents(pub message.Publisher) *Events { return &Events{pub: pub} }

// Publish writes e to topic in CloudEvents binary mode, keyed by e.Key. A nil
// error means Kafka acknowledged it with acks=all; on error the event may or
// may not be written, and a retry with the same e.ID is deduplicated by
// every consumer's inbox.
func (p *Events) Publish(_ context.Context, topic string, e events.Envelope) error {
	msg := message.NewMessage(e.ID, message.Payload(e.Data))
	for k, v := range e.Headers() {
		msg.Metadata.Set(k, v)
	}
	msg.Metadata.Set(MetadataKey, e.Key)
	return p.pub.Publish(topic, msg)
}
