package analytics

import (
	"context"

	"github.com/reelay/reelay/events"
)

// viewed records the views that arrive together for the movies' and the
// viewers' statistics, each under its event's dedup id: views of two
// sources that share an event id are two views.
func (h Handler) viewed(ctx context.Context, batch []events.Item[events.MovieViewed]) error {
	views := make([]View, len(batch))
	for i, v := range batch {
		views[i] = View{EventID: v.Envelope.DedupID(), MovieViewed: v.Data, At: v.Envelope.Time}
	}
	return h.store.RecordViews(ctx, views)
}
