package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/ops"
)

// BenchmarkDeadLetterPages measures what the operations page asks for every
// two seconds with 10,000 dead letters indexed: the summary of every group
// and the first page of one group's records.
func BenchmarkDeadLetterPages(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "reelay.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for batch := range 20 {
		ds := make([]ops.DeadLetter, 500)
		for i := range ds {
			n := batch*500 + i
			ds[i] = deadLetter("movie-group", int32(n%6), int64(n), "movie:movie-views", events.ErrorClassTransient,
				fmt.Sprintf("boom %d", n%7), t0.Add(time.Duration(n)*time.Millisecond), nil)
		}
		if err := db.AddDeadLetters(ctx, ds); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("summaries", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.DeadLetterSummaries(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first-page-of-20", func(b *testing.B) {
		for b.Loop() {
			if page, err := db.DeadLetters(ctx, "movie-group", ops.Query{Status: ops.StatusPending, Limit: 21}); err != nil || len(page) != 21 {
				b.Fatal(len(page), err)
			}
		}
	})
}
