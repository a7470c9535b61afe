package movie

import (
	"context"

	"github.com/reelay/reelay/events"
)

// created adds the movie, or fills in a row that views created first.
func (h Handler) created(ctx context.Context, e events.Envelope, m events.MovieCreated) error {
	return h.store.CreateMovie(ctx, m, e.Time)
}
