package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// TestDecodeFirstDecodesOnceForTheChain: the first middleware decodes the
// envelope and a batch route's data once; what follows reads them, and a
// retried message is not decoded again. A malformed message carries its
// error instead, which the dispatcher returns.
func TestDecodeFirstDecodesOnceForTheChain(t *testing.T) {
	t.Parallel()
	checks := 0
	c := events.Consumer{Group: "g", Routes: []events.Route{{
		Type:        events.TypeMovieViewed,
		Handle:      func(context.Context, events.Envelope) error { return nil },
		HandleBatch: func(context.Context, []events.Envelope, []any) error { return nil },
		Check:       func(e events.Envelope) (any, error) { checks++; return "checked " + e.ID, nil },
	}}}
	attempts := 0
	var seen *decoded
	chain := decodeFirst(c)(retry(2, time.Millisecond)(func(msg *message.Message) ([]*message.Message, error) {
		attempts++
		seen = decodedOf(c, msg)
		if attempts == 1 {
			return nil, errors.New("connection reset")
		}
		return nil, nil
	}))
	if _, err := chain(eventOfType(t, events.TypeMovieViewed)); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || checks != 1 {
		t.Fatalf("%d attempts, %d checks: want 2 attempts of one decoded message", attempts, checks)
	}
	if seen.err != nil || seen.env.ID != "id-movie.viewed" || !seen.batch || seen.data != "checked id-movie.viewed" {
		t.Fatalf("decoded %+v", seen)
	}

	bad := message.NewMessage("uuid", message.Payload(`{"movieId":`))
	bad.Metadata = eventOfType(t, events.TypeMovieViewed).Metadata
	d := &dispatcher{consumer: c}
	var dispatched error
	_, _ = decodeFirst(c)(func(msg *message.Message) ([]*message.Message, error) {
		dispatched = d.handle(msg)
		return nil, nil
	})(bad)
	if !events.IsPermanent(dispatched) || checks != 1 {
		t.Fatalf("malformed message: dispatcher returned %v (permanent: %v), checks %d", dispatched, events.IsPermanent(dispatched), checks)
	}
}
