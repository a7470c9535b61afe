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
	// HandleBatch, when set (see OnBatch), applies several events of the
	// type at once, each already accepted by Check; the batch commits in one
	// transaction with an inbox row per event, and holds only events not
	// applied before.
	// data[i] is what Check returned for es[i].
	HandleBatch func(ctx context.Context, es []Envelope, data []any) error
	// Check decodes and validates one event without applying it, and
	// returns its data for HandleBatch; set with HandleBatch, so that a bad
	// event is refused alone, never in a batch, and is decoded once.
	Check func(e Envelope) (any, error)
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

// Item is one event of a batch: its envelope and its decoded data.
type Item[T Validator] struct {
	Envelope Envelope
	Data     T
}

// OnBatch routes eventType to fn, which applies the events of the type that
// are ready at the same time together — for a hot handler that can do in one
// statement what per-event handlers do in many (the views of one movie
// counted with one +n). The guarantees are those of On: each event is
// decoded and validated first (a bad one is dead-lettered alone), applied
// exactly once per group through its own inbox row. A batch may hold
// several events of one key, in offset order, and batches are applied one
// after the other; fn must keep that order where it matters. If a batch
// fails, each of its events is tried again in a batch of one, so one failing
// event cannot hold back the others, and those retries may apply a key's
// events out of order: use OnBatch for effects that do not depend on the
// order of a key's events (counts, sums, sets), On for the rest. fn must not
// act outside the store (it may run again for events that were rolled back).
func OnBatch[T Validator](eventType string, fn func(ctx context.Context, batch []Item[T]) error) Route {
	decode := func(e Envelope) (T, error) {
		var data T
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return data, Malformed("%s data: %v", eventType, err)
		}
		return data, data.Validate()
	}
	return Route{
		Type: eventType,
		Handle: func(ctx context.Context, e Envelope) error {
			data, err := decode(e)
			if err != nil {
				return err
			}
			return fn(ctx, []Item[T]{{Envelope: e, Data: data}})
		},
		Check: func(e Envelope) (any, error) { return decode(e) },
		HandleBatch: func(ctx context.Context, es []Envelope, data []any) error {
			batch := make([]Item[T], len(es))
			for i, e := range es {
				batch[i] = Item[T]{Envelope: e, Data: data[i].(T)}
			}
			return fn(ctx, batch)
		},
	}
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

// BatchRoute returns the route of an event type when it applies batches
// (OnBatch), or false.
func (c Consumer) BatchRoute(eventType string) (Route, bool) {
	for _, r := range c.Routes {
		if r.Type == eventType && r.HandleBatch != nil {
			return r, true
		}
	}
	return Route{}, false
}
