package analytics

import (
	"context"

	"github.com/reelay/reelay/events"
)

// viewed records one view for the movie's and the viewer's statistics,
// under the event's dedup id: views of two sources that share an event id
// are two views.
func (h Handler) viewed(ctx context.Context, e events.Envelope, v events.MovieViewed) error {
	return h.store.RecordView(ctx, e.DedupID(), v, e.Time)
}
