package router

import (
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/infra/telemetry"
)

// outcome counts each event's final outcome and times it: applied,
// duplicate (the inbox had it), dead_lettered (the dead-letter topic has
// it), dead_letter_failed (it could not be dead-lettered and is redelivered)
// or redelivered (the router closed mid-way). It runs outside deadLetter, so
// it counts what happened, not what was attempted.
func outcome(m *telemetry.Metrics, group, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			start := time.Now()
			out, err := h(msg)
			m.HandlerSeconds.WithLabelValues(handler).Observe(time.Since(start).Seconds())
			result := "applied"
			switch {
			case errors.Is(err, errShuttingDown):
				result = "redelivered"
			case errors.Is(err, errDeadLetterFailed):
				result = "dead_letter_failed"
			case err != nil:
				result = "failed"
			case isDeadLettered(msg.Context()):
				result = "dead_lettered"
			case isDuplicate(msg.Context()):
				result = "duplicate"
			}
			m.Events.WithLabelValues(group, handler, result).Inc()
			return out, err
		}
	}
}
