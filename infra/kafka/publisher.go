package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
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
	}, telemetry.WatermillLogger(logger)) // builds nothing for the per-message trace lines
	if err != nil {
		return nil, connectError("kafka publisher", brokers, sec, err)
	}
	return pub, nil
}

// ErrPublishTimeout is returned by Events.Publish when Kafka has not
// acknowledged the event within the deadline. The event may still be
// written later; a retry with the same event id is deduplicated.
var ErrPublishTimeout = errors.New("kafka did not acknowledge the event in time")

// maxPublishesInFlight bounds the publishes that have passed their deadline
// but not finished (each waits for the producer's own timeouts): past it, a
// publish fails at once rather than pile up.
const maxPublishesInFlight = 4096

// Events publishes envelopes through a Watermill publisher, each within a
// deadline.
type Events struct {
	pub      message.Publisher
	timeout  time.Duration
	inFlight atomic.Int64
}

// NewEvents wraps pub; a publish waits at most timeout (0: no deadline).
func NewEvents(pub message.Publisher, timeout time.Duration) *Events {
	return &Events{pub: pub, timeout: timeout}
}

// Publish writes e to topic in CloudEvents binary mode, keyed by e.Key. A nil
// error means Kafka acknowledged it with acks=all; on error the event may or
// may not be written, and a retry with the same e.ID is deduplicated by
// every consumer's inbox. It returns ErrPublishTimeout when the deadline
// passes first (or when too many publishes past theirs are still running),
// and ctx's error when ctx ends first.
func (p *Events) Publish(ctx context.Context, topic string, e events.Envelope) error {
	msg := message.NewMessage(e.ID, message.Payload(e.Data))
	msg.Metadata = e.Headers() // a fresh map
	msg.Metadata.Set(MetadataKey, e.Key)
	msg.SetContext(ctx) // for TracePublishes: the request's span
	if p.timeout <= 0 {
		return p.pub.Publish(topic, msg)
	}
	if p.inFlight.Add(1) > maxPublishesInFlight {
		p.inFlight.Add(-1)
		return fmt.Errorf("%w: %d publishes still waiting for the brokers", ErrPublishTimeout, maxPublishesInFlight)
	}
	done := make(chan error, 1)
	go func() {
		defer p.inFlight.Add(-1)
		done <- p.pub.Publish(topic, msg)
	}()
	deadline := time.NewTimer(p.timeout)
	defer deadline.Stop()
	select {
	case err := <-done:
		return err
	case <-deadline.C:
		return fmt.Errorf("%w (%s)", ErrPublishTimeout, p.timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}
