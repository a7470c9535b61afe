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
	o := newOutcomes(m, group, handler)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			start := time.Now()
			out, err := h(msg)
			o.record(msg, err, time.Since(start))
			return out, err
		}
	}
}

// outcomes counts the outcomes of a handler's events.
type outcomes struct {
	m              *telemetry.Metrics
	group, handler string
	seconds        prometheus.Observer
	counted        map[string]prometheus.Counter
}

func newOutcomes(m *telemetry.Metrics, group, handler string) *outcomes {
	// The series of the common outcomes, looked up once rather than by
	// label values for every message.
	o := &outcomes{m: m, group: group, handler: handler, seconds: m.HandlerSeconds.WithLabelValues(handler),
		counted: map[string]prometheus.Counter{}}
	for _, name := range []string{"applied", "duplicate"} {
		o.counted[name] = m.Events.WithLabelValues(group, handler, name)
	}
	return o
}

// record counts msg's outcome, its handler having returned err after took.
func (o *outcomes) record(msg *message.Message, err error, took time.Duration) {
	o.seconds.Observe(took.Seconds())
	name := outcomeOf(msg, err)
	if c, ok := o.counted[name]; ok {
		c.Inc()
	} else {
		o.m.Events.WithLabelValues(o.group, o.handler, name).Inc()
	}
	if n := attemptsOf(msg); n > 1 {
		o.m.Retries.WithLabelValues(o.group, o.handler).Add(float64(n - 1))
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
