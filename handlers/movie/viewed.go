package movie

import (
	"context"
	"time"

	"github.com/reelay/reelay/events"
)

// viewed counts the views that arrive together: one +n per movie, stamped
// with the movie's latest view.
func (h Handler) viewed(ctx context.Context, views []events.Item[events.MovieViewed]) error {
	type count struct {
		n    int64
		last time.Time
	}
	counts := map[string]*count{}
	var order []string
	for _, v := range views {
		c := counts[v.Data.MovieID]
		if c == nil {
			c = &count{}
			counts[v.Data.MovieID] = c
			order = append(order, v.Data.MovieID)
		}
		c.n++
		if v.Envelope.Time.After(c.last) {
			c.last = v.Envelope.Time
		}
	}
	for _, id := range order {
		if err := h.store.CountViews(ctx, id, counts[id].n, counts[id].last); err != nil {
			return err
		}
	}
	return nil
}
