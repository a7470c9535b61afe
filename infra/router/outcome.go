package router

import (
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reelay/reelay/infra/telemetry"
)

// outcome counts each event's final outcome and times it: applied,
// duplicate (the inbox had it), dead_lettered (the dead-letter topic has
// it), dead_letter_failed (it could not be dead-lettered and is redelivered)
// or redelivered (the router closed mid-way). It runs outside deadLetter, so
// it counts what happened, not what was attempted. It also counts the
// attempts that failed and were tried again (reelay_retries_total).
func outcome(m *telemetry.Metrics, group, handler string) message.HandlerMiddleware {
	// The series of the common outcomes, looked up once rather than by
	// label values for every message.
	seconds := m.HandlerSeconds.WithLabelValues(handler)
	counted := map[string]prometheus.Counter{}
	for _, o := range []string{"applied", "duplicate"} {
		counted[o] = m.Events.WithLabelValues(group, handler, o)
	}
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			start := time.Now()
			out, err := h(msg)
			seconds.Observe(time.Since(start).Seconds())
			o := outcomeOf(msg, err)
			if c, ok := counted[o]; ok {
				c.Inc()
			} else {
				m.Events.WithLabelValues(group, handler, o).Inc()
			}
			if n := attemptsOf(msg); n > 1 {
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
