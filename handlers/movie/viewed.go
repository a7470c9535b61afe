package movie

import (
	"context"

	"github.com/reelay/reelay/events"
)

// viewed counts one view of the movie.
func (h Handler) viewed(ctx context.Context, e events.Envelope, v events.MovieViewed) error {
	return h.store.CountView(ctx, v.MovieID, e.Time)
}
