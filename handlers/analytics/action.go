package analytics

import (
	"context"

	"github.com/reelay/reelay/events"
)

// action records one user action.
func (h Handler) action(ctx context.Context, e events.Envelope, a events.UserAction) error {
	return h.store.RecordAction(ctx, e.ID, a, e.Time)
}
