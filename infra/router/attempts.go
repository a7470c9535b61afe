package router

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// attemptRecord counts attempts, stamps the first and last failure times
// and logs each failed attempt with the event's logger (event id,
// correlation id, group, handler, topic, partition, offset) and whether it
// is retried. It runs inside the retry, once per attempt. The counter
// starts from zero for every delivery: the kafka unmarshaler drops dlq_*
// headers a record arrives with, so a producer cannot set it.
func attemptRecord(now func() time.Time, maxRetries int, logger *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			n := attemptsOf(msg)
			msg.Metadata.Set(events.DLQAttempts, strconv.Itoa(n+1))
			ctx := msg.Context()
			out, err := h(msg)
			if err != nil && ctx.Err() == nil {
				retried := n < maxRetries && !events.IsPermanent(err)
				loggerFrom(ctx, logger).Warn("handler failed", "attempt", n+1, "retried", retried, "err", cut(err.Error(), 512))
			}
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

// attemptsOf is the attempts attemptRecord counted on msg so far: 0 before
// the first (without parsing an empty header, which costs an error value
// on every message).
func attemptsOf(msg *message.Message) int {
	v := msg.Metadata.Get(events.DLQAttempts)
	if v == "" {
		return 0
	}
	n, _ := strconv.Atoi(v)
	return n
}
