package analytics

import (
	"context"

	"github.com/reelay/reelay/events"
)

// action records one user action under the event's dedup id: actions of two
// sources that share an event id are two actions.
func (h Handler) action(ctx context.Context, e events.Envelope, a events.UserAction) error {
	return h.store.RecordAction(ctx, e.DedupID(), a, e.Time)
}
