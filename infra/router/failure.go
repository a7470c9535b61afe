package router

import (
	"errors"
	"strconv"
	"time"

	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// maxErrorText bounds the error text a dead-letter record carries: a
// database error may quote the input.
const maxErrorText = 2048

// failureRecord writes, when the handler finally fails, where the record came
// from and why it failed into the metadata the dead-letter record carries.
// A failure while the router closes is marked errShuttingDown instead: the
// record must be redelivered, not dead-lettered.
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
			md.Set(events.DLQError, cut(err.Error(), maxErrorText))
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

// cut returns s, or its first n bytes followed by "…" when it is longer.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
