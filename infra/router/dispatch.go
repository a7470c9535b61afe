package router

import (
	"log/slog"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
)

// maxLoggedUnknownTypes bounds how many distinct unknown event types a
// dispatcher remembers having logged; past it, one more line says so and
// later types are counted without a log line.
const maxLoggedUnknownTypes = 100

// dispatcher decodes the envelope and calls the consumer's route for its type.
// An event type without a route is acknowledged, counted and logged once per
// type: producers may ship new types before consumers know them. An event
// without a time gets its record's timestamp.
type dispatcher struct {
	consumer events.Consumer
	metrics  *telemetry.Metrics
	logger   *slog.Logger

	mu      sync.Mutex
	unknown map[string]struct{} // logged unknown types, at most maxLoggedUnknownTypes
}

func (d *dispatcher) handle(msg *message.Message) error {
	ctx := msg.Context()
	dec := decodedOf(d.consumer, msg)
	if dec.err != nil {
		return dec.err
	}
	env := dec.env
	route, ok := d.consumer.Route(env.Type)
	if !ok {
		d.metrics.UnknownTypes.WithLabelValues(d.consumer.Group).Inc()
		if first, full := d.firstSight(env.Type); first {
			loggerFrom(ctx, d.logger).Warn("acknowledging events of an unknown type", "type", env.Type, "group", d.consumer.Group)
		} else if full {
			loggerFrom(ctx, d.logger).Warn("acknowledging events of more unknown types; no more are logged",
				"group", d.consumer.Group, "logged", maxLoggedUnknownTypes)
		}
		return nil
	}
	return route(ctx, env)
}

// firstSight reports whether eventType is seen for the first time and
// remembered, or, once, that the memory just became full.
func (d *dispatcher) firstSight(eventType string) (first, full bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.unknown == nil {
		d.unknown = map[string]struct{}{}
	}
	if _, seen := d.unknown[eventType]; seen {
		return false, false
	}
	switch {
	case len(d.unknown) < maxLoggedUnknownTypes:
		d.unknown[eventType] = struct{}{}
		return true, false
	case len(d.unknown) == maxLoggedUnknownTypes:
		d.unknown[""] = struct{}{} // marks "said once"; "" is never a decoded type
		return false, true
	}
	return false, false
}
