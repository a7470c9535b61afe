package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/analytics"
	"github.com/reelay/reelay/handlers/movie"
	"github.com/reelay/reelay/infra/sqlstore"
)

// TestApplyBatch: a batch inserts its inbox rows in one statement and
// applies only the events not applied before (a repeated id once); a failed
// batch writes nothing, neither its effects nor its inbox rows.
func TestApplyBatch(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		movies := sqlstore.NewMovies(db)
		count := func(ctx context.Context, n int) error {
			return movies.CountViews(ctx, []movie.ViewCount{{MovieID: "m", N: int64(n), At: time.Now()}})
		}
		if _, err := db.Apply(ctx, events.GroupMovie, "b", func(ctx context.Context) error { return count(ctx, 1) }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		fresh, err := db.ApplyBatch(ctx, events.GroupMovie, []string{"a", "c"}, func(ctx context.Context, fresh []int) error {
			if err := count(ctx, len(fresh)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || fresh != nil {
			t.Fatalf("failed batch: %v %v", fresh, err)
		}
		var seen []int
		fresh, err = db.ApplyBatch(ctx, events.GroupMovie, []string{"a", "b", "c", "a"}, func(ctx context.Context, fresh []int) error {
			seen = fresh
			return count(ctx, len(fresh))
		})
		if err != nil || !slices.Equal(fresh, []int{0, 2}) || !slices.Equal(seen, []int{0, 2}) {
			t.Fatalf("batch: fresh=%v seen=%v err=%v, want [0 2]", fresh, seen, err)
		}
		called := false
		fresh, err = db.ApplyBatch(ctx, events.GroupMovie, []string{"a", "b"}, func(context.Context, []int) error { called = true; return nil })
		if err != nil || len(fresh) != 0 || called {
			t.Fatalf("all applied before: fresh=%v called=%v err=%v", fresh, called, err)
		}
		if m, _, err := movies.Movie(ctx, "m"); err != nil || m.Views != 3 {
			t.Fatalf("views = %d (%v), want 3: b, then a and c once", m.Views, err)
		}
	})
}

// TestApplyBatchOfManyEvents: a batch larger than one statement's
// parameters allow on SQLite (32,766, three a row) claims every inbox row,
// and reports as fresh exactly those not applied before.
func TestApplyBatchOfManyEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := make([]string, 12_000)
		for i := range ids {
			ids[i] = fmt.Sprintf("e%05d", i)
		}
		if _, err := db.ApplyBatch(ctx, events.GroupMovie, []string{ids[1], ids[11_999]}, func(context.Context, []int) error { return nil }); err != nil {
			t.Fatal(err)
		}
		fresh, err := db.ApplyBatch(ctx, events.GroupMovie, ids, func(context.Context, []int) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Collect(func(yield func(int) bool) {
			for i := range ids {
				if i != 1 && i != 11_999 && !yield(i) {
					return
				}
			}
		})
		if !slices.Equal(fresh, want) {
			t.Fatalf("fresh: %d positions, want %d (all but 1 and 11999)", len(fresh), len(want))
		}
		if fresh, err := db.ApplyBatch(ctx, events.GroupMovie, ids, func(context.Context, []int) error { return nil }); err != nil || len(fresh) != 0 {
			t.Fatalf("again: %d fresh, %v; want none", len(fresh), err)
		}
	})
}

// TestRecordViewsInOneBatch: a batch with a repeated viewer and several
// movies and users gives the aggregates of the same views applied one by one.
func TestRecordViewsInOneBatch(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewAnalytics(db)
		at := time.UnixMilli(1_700_000_000_000).UTC()
		view := testView
		views := []analytics.View{view("1", "m", "u1", 10, at), view("2", "m", "u1", 20, at.Add(time.Minute)),
			view("3", "m", "u2", 5, at), view("4", "m2", "u1", 1, at)}
		ids := []string{"1", "2", "3", "4"}
		if _, err := db.ApplyBatch(ctx, events.GroupAnalytics, ids, func(ctx context.Context, _ []int) error {
			return s.RecordViews(ctx, views)
		}); err != nil {
			t.Fatal(err)
		}
		st, err := s.MovieStats(ctx, "m")
		if err != nil || st.Views != 3 || st.UniqueViewers != 2 || st.WatchedSeconds != 35 || !st.LastViewedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("m: %+v %v", st, err)
		}
		if st, err := s.MovieStats(ctx, "m2"); err != nil || st.Views != 1 || st.UniqueViewers != 1 {
			t.Fatalf("m2: %+v %v", st, err)
		}
		if us, err := s.UserStats(ctx, "u1"); err != nil || us.Views != 3 {
			t.Fatalf("u1: %+v %v", us, err)
		}
	})
}

// TestRecordViewsOfManyRows: a batch of more rows than one statement
// writes (1,300 views: statements of 512, 256, … rows on SQLite) gives
// exact aggregates. Views of 3 movies by 650 users, each pair once.
func TestRecordViewsOfManyRows(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewAnalytics(db)
		at := time.UnixMilli(1_700_000_000_000).UTC()
		views := make([]analytics.View, 1300)
		ids := make([]string, len(views))
		for i := range views {
			ids[i] = fmt.Sprintf("e%04d", i)
			views[i] = testView(ids[i], fmt.Sprint("m", i%3), fmt.Sprint("u", i%650), 2, at)
		}
		if _, err := db.ApplyBatch(ctx, events.GroupAnalytics, ids, func(ctx context.Context, _ []int) error {
			return s.RecordViews(ctx, views)
		}); err != nil {
			t.Fatal(err)
		}
		for m, want := range []int64{434, 433, 433} {
			if st, err := s.MovieStats(ctx, fmt.Sprint("m", m)); err != nil || st.Views != want || st.UniqueViewers != want || st.WatchedSeconds != 2*want {
				t.Fatalf("m%d: %+v %v; want %d views, as many viewers", m, st, err, want)
			}
		}
		for _, u := range []string{"u0", "u649"} {
			if us, err := s.UserStats(ctx, u); err != nil || us.Views != 2 {
				t.Fatalf("%s: %+v %v; want 2 views", u, us, err)
			}
		}
	})
}

// TestBatchFailingPartWayWritesNothing: a multi-row write that fails at a
// later row (two views with one event id; on SQLite the statement is INSERT
// OR FAIL, which keeps the rows before) leaves nothing of the batch: not
// those rows, not the viewers and stats written before it, not the inbox
// rows, so the same events apply afterwards.
func TestBatchFailingPartWayWritesNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewAnalytics(db)
		at := time.UnixMilli(1_700_000_000_000).UTC()
		view := func(id string) analytics.View { return testView(id, "m", "u1", 10, at) }
		if _, err := db.ApplyBatch(ctx, events.GroupAnalytics, []string{"1", "2"}, func(ctx context.Context, _ []int) error {
			return s.RecordViews(ctx, []analytics.View{view("1"), view("2"), view("1")})
		}); err == nil {
			t.Fatal("a batch with a repeated view id was applied")
		}
		if st, err := s.MovieStats(ctx, "m"); err == nil && (st.Views != 0 || st.UniqueViewers != 0) {
			t.Fatalf("the failed batch left stats %+v", st)
		}
		fresh, err := db.ApplyBatch(ctx, events.GroupAnalytics, []string{"1", "2"}, func(ctx context.Context, _ []int) error {
			return s.RecordViews(ctx, []analytics.View{view("1"), view("2")})
		})
		if err != nil || len(fresh) != 2 {
			t.Fatalf("after the failed batch: fresh=%v err=%v, want both events applied", fresh, err)
		}
		if st, err := s.MovieStats(ctx, "m"); err != nil || st.Views != 2 || st.UniqueViewers != 1 {
			t.Fatalf("m: %+v %v, want 2 views by 1 viewer", st, err)
		}
	})
}

// TestCountViewsOfSeveralMovies: one write adds each movie's views and keeps
// each movie's latest view time.
func TestCountViewsOfSeveralMovies(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewMovies(db)
		at := time.UnixMilli(1_700_000_000_000).UTC()
		for i, batch := range [][]movie.ViewCount{
			{{MovieID: "a", N: 2, At: at}, {MovieID: "b", N: 1, At: at}},
			{{MovieID: "a", N: 3, At: at.Add(-time.Hour)}, {MovieID: "c", N: 4, At: at}},
		} {
			if _, err := db.Apply(ctx, events.GroupMovie, fmt.Sprint("batch", i), func(ctx context.Context) error {
				return s.CountViews(ctx, batch)
			}); err != nil {
				t.Fatal(err)
			}
		}
		for id, want := range map[string]int64{"a": 5, "b": 1, "c": 4} {
			m, found, err := s.Movie(ctx, id)
			if err != nil || !found || m.Views != want || !m.UpdatedAt.Equal(at) {
				t.Fatalf("%s: %+v found=%v %v, want %d views at %v", id, m, found, err, want, at)
			}
		}
	})
}

// testView is a view of movie by user, watched for secs, at at.
func testView(id, movie, user string, secs int64, at time.Time) analytics.View {
	return analytics.View{EventID: id, MovieViewed: events.MovieViewed{MovieID: movie, UserID: user, WatchedSeconds: &secs}, At: at}
}
