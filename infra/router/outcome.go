package router

import (
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/infra/telemetry"
)

// outcome counts each event's final outcome and times it: applied,
// duplicate (the inbox had it), redelivered (the router closed mid-way) or
// dead_lettered.
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
			case err != nil:
				result = "dead_lettered"
			case isDuplicate(msg.Context()):
				result = "duplicate"
			}
			m.Events.WithLabelValues(group, handler, result).Inc()
			return out, err
		}
	}
}
