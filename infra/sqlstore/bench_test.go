package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/sqlstore"
)

// BenchmarkApplyView times one analytics view through the inbox (the
// heaviest handler transaction). Run with -bench Apply ./infra/sqlstore.
func BenchmarkApplyView(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	s := sqlstore.NewAnalytics(db)
	secs := int64(3)
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprint("e", i)
		v := events.MovieViewed{MovieID: fmt.Sprint("m", i%50), UserID: fmt.Sprint("u", i%1000), WatchedSeconds: &secs}
		if _, err := db.Apply(ctx, events.GroupAnalytics, id, func(ctx context.Context) error {
			return s.RecordView(ctx, id, v, time.Now())
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimIDs times the inbox claim of batches of 256 events whose
// ids are random (UUIDv4, as other producers may make them) against ids
// made by events.NewID (time-ordered), on SQLite. The inbox grows as the
// benchmark runs, so compare the two at the same -benchtime, e.g.
// go test -run '^$' -bench ClaimIDs -benchtime 400x ./infra/sqlstore.
func BenchmarkClaimIDs(b *testing.B) {
	for _, c := range []struct {
		name string
		id   func() string
	}{{"ids=random", uuid.NewString}, {"ids=events.NewID", events.NewID}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			ids := make([]string, 256)
			b.ResetTimer()
			for range b.N {
				for i := range ids {
					ids[i] = c.id()
				}
				if _, err := db.ApplyBatch(ctx, events.GroupAnalytics, ids, func(context.Context, []int) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/event")
		})
	}
}
