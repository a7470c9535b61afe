package analytics

import (
	"context"

	"github.com/reelay/reelay/events"
)

// viewed records one view for the movie's and the viewer's statistics.
func (h Handler) viewed(ctx context.Context, e events.Envelope, v events.MovieViewed) error {
	return h.store.RecordView(ctx, e.ID, v, e.Time)
}
