package router

import (
	"context"
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestSettledReportsWhatWatermillDoes runs the middleware on stub handlers:
// the outcome it reports is the one Watermill acts on (ack only when the
// chain returns no error and no messages), once, with the message's
// context as the chain left it, and a panic still reaches Watermill.
func TestSettledReportsWhatWatermillDoes(t *testing.T) {
	t.Parallel()
	type key struct{}
	cases := []struct {
		name    string
		handler message.HandlerFunc
		acked   bool
		panics  bool
	}{
		{"no error", func(*message.Message) ([]*message.Message, error) { return nil, nil }, true, false},
		{"error", func(*message.Message) ([]*message.Message, error) { return nil, errors.New("boom") }, false, false},
		{"produced messages", func(*message.Message) ([]*message.Message, error) {
			return []*message.Message{message.NewMessage("m2", nil)}, nil
		}, false, false},
		{"panic", func(*message.Message) ([]*message.Message, error) { panic("boom") }, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls []bool
			var sawKey bool
			settle := func(ctx context.Context, acked bool) {
				calls = append(calls, acked)
				sawKey = ctx.Value(key{}) == "inner"
			}
			h := settled(settle)(func(msg *message.Message) ([]*message.Message, error) {
				msg.SetContext(context.WithValue(msg.Context(), key{}, "inner"))
				return c.handler(msg)
			})
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				_, _ = h(message.NewMessage("m1", nil))
				return false
			}()
			if panicked != c.panics {
				t.Fatalf("panicked = %v, want %v", panicked, c.panics)
			}
			if len(calls) != 1 || calls[0] != c.acked || !sawKey {
				t.Fatalf("settle calls %v (context from the chain: %v), want [%v]", calls, sawKey, c.acked)
			}
		})
	}
}
