package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

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
