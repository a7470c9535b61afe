package router

import (
	"errors"
	"strconv"
	"time"

	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// errShuttingDown wraps a failure that happened because the router is
// closing: the message must be redelivered, not dead-lettered.
var errShuttingDown = errors.New("shutting down")

// deadLetter sends a message whose handler failed for good to topic, with
// the metadata failureRecord and attemptRecord wrote, and acks it so the
// partition moves on. If that publish fails the message is nacked and
// redelivered. Failures during shutdown are never dead-lettered.
func deadLetter(pub message.Publisher, topic string) (message.HandlerMiddleware, error) {
	return middleware.PoisonQueueWithFilter(pub, topic, func(err error) bool { return !errors.Is(err, errShuttingDown) })
}

// failureRecord writes, when the handler finally fails, where the record came
// from and why it failed into the metadata the dead-letter record carries.
func failureRecord(group, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil {
				return out, nil
			}
			ctx := msg.Context()
			if ctx.Err() != nil {
				return nil, errors.Join(errShuttingDown, err)
			}
			md := msg.Metadata
			md.Set(events.DLQOriginalTopic, message.SubscribeTopicFromCtx(ctx))
			md.Set(events.DLQGroup, group)
			md.Set(events.DLQHandler, handler)
			md.Set(events.DLQError, err.Error())
			if p, ok := wmkafka.MessagePartitionFromCtx(ctx); ok {
				md.Set(events.DLQPartition, strconv.Itoa(int(p)))
			}
			if o, ok := wmkafka.MessagePartitionOffsetFromCtx(ctx); ok {
				md.Set(events.DLQOffset, strconv.FormatInt(o, 10))
			}
			if ts, ok := wmkafka.MessageTimestampFromCtx(ctx); ok {
				md.Set(events.DLQTimestamp, ts.UTC().Format(time.RFC3339Nano))
			}
			if k, ok := wmkafka.MessageKeyFromCtx(ctx); ok {
				md.Set(events.DLQKey, string(k))
				md.Set(kafka.MetadataKey, string(k))
			}
			return out, err
		}
	}
}

// attemptRecord counts attempts and stamps the first and last failure times.
// It runs inside the retry, once per attempt.
func attemptRecord(now func() time.Time) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			n, _ := strconv.Atoi(msg.Metadata.Get(events.DLQAttempts))
			msg.Metadata.Set(events.DLQAttempts, strconv.Itoa(n+1))
			out, err := h(msg)
			if err != nil {
				at := now().UTC().Format(time.RFC3339Nano)
				if msg.Metadata.Get(events.DLQFirstFailure) == "" {
					msg.Metadata.Set(events.DLQFirstFailure, at)
				}
				msg.Metadata.Set(events.DLQLastFailure, at)
			}
			return out, err
		}
	}
}
