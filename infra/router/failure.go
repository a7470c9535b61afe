package router

import (
	"errors"
	"strconv"
	"time"

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
			md.Set(events.DLQGroup, group)
			md.Set(events.DLQHandler, handler)
			md.Set(events.DLQError, cut(err.Error(), maxErrorText))
			md.Set(events.DLQOriginalTopic, message.SubscribeTopicFromCtx(ctx)) // a pattern, unless the record says
			if rec, ok := kafka.RecordFromContext(ctx); ok {
				md.Set(events.DLQOriginalTopic, rec.Topic)
				md.Set(events.DLQPartition, strconv.Itoa(int(rec.Partition)))
				md.Set(events.DLQOffset, strconv.FormatInt(rec.Offset, 10))
				md.Set(events.DLQTimestamp, rec.Timestamp.UTC().Format(time.RFC3339Nano))
				if rec.Key != nil {
					md.Set(events.DLQKey, string(rec.Key))
					md.Set(kafka.MetadataKey, string(rec.Key))
				}
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
