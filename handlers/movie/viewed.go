package movie

import (
	"context"
	"slices"
	"strings"

	"github.com/reelay/reelay/events"
)

// viewed counts the views that arrive together: one +n per movie, stamped
// with the movie's latest view, written at once.
func (h Handler) viewed(ctx context.Context, views []events.Item[events.MovieViewed]) error {
	byMovie := map[string]int{}
	var counts []ViewCount
	for _, v := range views {
		i, ok := byMovie[v.Data.MovieID]
		if !ok {
			i = len(counts)
			byMovie[v.Data.MovieID] = i
			counts = append(counts, ViewCount{MovieID: v.Data.MovieID})
		}
		counts[i].N++
		if v.Envelope.Time.After(counts[i].At) {
			counts[i].At = v.Envelope.Time
		}
	}
	// In id order, so that concurrent batches lock rows in the same order.
	slices.SortFunc(counts, func(a, b ViewCount) int { return strings.Compare(a.MovieID, b.MovieID) })
	return h.store.CountViews(ctx, counts)
}
