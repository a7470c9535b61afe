package movie

import (
	"context"

	"github.com/reelay/reelay/events"
)

// updated changes the fields the event carries and leaves the others.
func (h Handler) updated(ctx context.Context, e events.Envelope, m events.MovieUpdated) error {
	return h.store.UpdateMovie(ctx, m, e.Time)
}
