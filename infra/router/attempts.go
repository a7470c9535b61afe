package router

import (
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// attemptRecord counts attempts and stamps the first and last failure times.
// It runs inside the retry, once per attempt. The counter starts from zero
// for every delivery: the kafka unmarshaler drops dlq_* headers a record
// arrives with, so a producer cannot set it.
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
