package router

import (
	"context"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Inbox runs a function at most once to completion per (group, event id),
// committing its writes with the inbox row. sqlstore.DB satisfies it.
type Inbox interface {
	Apply(ctx context.Context, group, eventID string, fn func(ctx context.Context) error) (applied bool, err error)
	// Applied reports whether the event was applied for group.
	Applied(ctx context.Context, group, eventID string) (bool, error)
	// ApplyBatch applies several events in one transaction, fn seeing the
	// positions of those not applied before, and returns those positions.
	ApplyBatch(ctx context.Context, group string, eventIDs []string, fn func(ctx context.Context, fresh []int) error) ([]int, error)
}

type duplicateKey struct{}

// inbox applies the handler through the Inbox under the message's UUID (the
// event id). The handler's context is detached from the router's: Watermill
// cancels message contexts as soon as the router closes (watermill #446), and
// an event in flight must commit or roll back whole. It gets up to grace.
// With lookFirst (a consumer with side effects) an event already applied is
// not handed to the handler at all.
func inbox(ib Inbox, group string, grace time.Duration, lookFirst bool) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			routerCtx := msg.Context()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(routerCtx), grace)
			defer cancel()
			if lookFirst {
				seen, err := ib.Applied(ctx, group, msg.UUID)
				if err != nil {
					return nil, err
				}
				if seen {
					msg.SetContext(context.WithValue(routerCtx, duplicateKey{}, true))
					return nil, nil
				}
			}
			var out []*message.Message
			applied, err := func() (bool, error) {
				// Restored even if the handler panics: the outer middleware
				// must see the router's context, not the detached one.
				defer msg.SetContext(routerCtx)
				return ib.Apply(ctx, group, msg.UUID, func(ctx context.Context) error {
					msg.SetContext(ctx)
					var err error
					out, err = h(msg)
					return err
				})
			}()
			if err == nil && !applied {
				msg.SetContext(context.WithValue(routerCtx, duplicateKey{}, true))
			}
			return out, err
		}
	}
}

func isDuplicate(ctx context.Context) bool { v, _ := ctx.Value(duplicateKey{}).(bool); return v }
