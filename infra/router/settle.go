package router

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
)

// settled reports each message's outcome to its subscriber as the chain
// returns (settle is kafka.Settle, for subscribers made with
// SettledByConsumer, which then need no goroutine per message to watch Ack
// and Nack): acked when the chain returns no error (applied, a duplicate or
// dead-lettered), not acked on an error or a panic, which Watermill nacks.
// It is the outermost middleware, so the outcome it reports is the one
// Watermill acts on. Reelay's handlers produce no messages; a chain that
// returned some is not acked, since Watermill publishes them after this
// returns and nacks the message if that fails.
func settled(settle func(ctx context.Context, acked bool)) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) (out []*message.Message, err error) {
			acked := false
			defer func() { settle(msg.Context(), acked) }()
			out, err = h(msg)
			acked = err == nil && len(out) == 0
			return out, err
		}
	}
}
