package kafka

import (
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// NewSubscriber returns a Watermill subscriber in consumer group group. Each
// Subscribe joins the group for one topic. Within a partition, messages are
// handed out one at a time, and the next only after the previous is acked:
// order per key holds. An acked message's offset is committed within a second
// and on close; a nacked one is handed out again. It connects with
// WithSecurity's TLS and SASL, if given.
func NewSubscriber(brokers []string, group string, logger *slog.Logger, opts ...Option) (message.Subscriber, error) {
	sub, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{
		Brokers:               brokers,
		Unmarshaler:           Marshaler{},
		OverwriteSaramaConfig: consumerConfig("reelay-"+group, applyOptions(opts).security),
		ConsumerGroup:         group,
	}, watermill.NewSlogLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("kafka subscriber %s: %w", group, err)
	}
	return sub, nil
}
