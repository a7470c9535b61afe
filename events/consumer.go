package events

import (
	"context"
	"encoding/json"
)

// Consumer describes one handler of a consumer group: what it subscribes to
// and which function each event type reaches. The router gives it, for every
// subscribed topic, at-least-once delivery in key order, retries, a
// dead-letter topic, panic recovery, correlation ids and an inbox that
// applies each event (CloudEvents source and id) once.
type Consumer struct {
	// Name identifies the handler in logs, metrics, the inbox and the
	// dead-letter metadata. Keep it stable.
	Name string
	// Group is the Kafka consumer group.
	Group string
	// Topics are subscribed by name.
	Topics []string
	// TopicPrefix, when set, subscribes to every topic that starts with it:
	// those that exist at start and those created later, without a restart.
	TopicPrefix string
	// Routes maps event types to functions. An event type with no route is
	// acknowledged and counted (forward compatibility).
	Routes []Route
	// SideEffects says a route acts outside the store before its first
	// write (it calls a notifier, say). The inbox then looks an event up
	// before the route runs, so that a redelivered event is not acted on
	// again. Without it the look-up is skipped: a redelivered event's route
	// runs and its writes are rolled back at the first one, when its inbox
	// row conflicts.
	SideEffects bool
}

// Route sends one event type to a function.
type Route struct {
	Type   string
	Handle func(ctx context.Context, e Envelope) error
}

// Validator is event data that can check itself.
type Validator interface{ Validate() error }

// On routes eventType to fn, decoding the data into T and validating it
// first. Data that does not decode or validate is an ErrMalformed error,
// which the router dead-letters without retries. Unknown JSON fields are
// ignored, so producers may add fields.
func On[T Validator](eventType string, fn func(ctx context.Context, e Envelope, data T) error) Route {
	return Route{Type: eventType, Handle: func(ctx context.Context, e Envelope) error {
		var data T
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return Malformed("%s data: %v", eventType, err)
		}
		if err := data.Validate(); err != nil {
			return err
		}
		return fn(ctx, e, data)
	}}
}

// Route returns the function for an event type, or false when none is routed.
func (c Consumer) Route(eventType string) (func(context.Context, Envelope) error, bool) {
	for _, r := range c.Routes {
		if r.Type == eventType {
			return r.Handle, true
		}
	}
	return nil, false
}
