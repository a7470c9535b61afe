package movie

import (
	"context"

	"github.com/reelay/reelay/events"
)

// deleted hides the movie from the catalog.
func (h Handler) deleted(ctx context.Context, e events.Envelope, m events.MovieDeleted) error {
	return h.store.DeleteMovie(ctx, m.MovieID, e.Time)
}
