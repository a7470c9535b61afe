package router

import (
	"errors"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
)

// outcome counts each event's final outcome and times it: applied,
// duplicate (the inbox had it), dead_lettered (the dead-letter topic has
// it), dead_letter_failed (it could not be dead-lettered and is redelivered)
// or redelivered (the router closed mid-way). It runs outside deadLetter, so
// it counts what happened, not what was attempted. It also counts the
// attempts that failed and were tried again (reelay_retries_total).
func outcome(m *telemetry.Metrics, group, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			start := time.Now()
			out, err := h(msg)
			m.HandlerSeconds.WithLabelValues(handler).Observe(time.Since(start).Seconds())
			m.Events.WithLabelValues(group, handler, outcomeOf(msg, err)).Inc()
			if n, _ := strconv.Atoi(msg.Metadata.Get(events.DLQAttempts)); n > 1 {
				m.Retries.WithLabelValues(group, handler).Add(float64(n - 1))
			}
			return out, err
		}
	}
}

// outcomeOf names what happened to a message that went through deadLetter,
// with err its final error.
func outcomeOf(msg *message.Message, err error) string {
	switch {
	case errors.Is(err, errShuttingDown):
		return "redelivered"
	case errors.Is(err, errDeadLetterFailed):
		return "dead_letter_failed"
	case err != nil:
		return "failed"
	case isDeadLettered(msg.Context()):
		return "dead_lettered"
	case isDuplicate(msg.Context()):
		return "duplicate"
	}
	return "applied"
}
