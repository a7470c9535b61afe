package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/notification"
	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/infra/sqlstore/sqlstoretest"
)

// openStores runs the contract suite on SQLite always and on PostgreSQL when
// REELAY_TEST_DATABASE_URL names one.
func openStores(t *testing.T) map[string]*sqlstore.DB {
	t.Helper()
	out := map[string]*sqlstore.DB{}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "reelay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	out["sqlite"] = db
	if url := os.Getenv("REELAY_TEST_DATABASE_URL"); url != "" {
		pg, err := sqlstoretest.OpenIsolated(ctx, url, t.Name())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pg.Close() })
		out["postgres"] = pg
	}
	return out
}

// eachStore runs fn as a subtest on every store openStores gives.
func eachStore(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	for name, db := range openStores(t) {
		t.Run(name, func(t *testing.T) { fn(t, db) })
	}
}

func intp(n int) *int       { return &n }
func i64p(n int64) *int64   { return &n }
func strp(s string) *string { return &s }

func TestApplyOncePerGroupAndEvent(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		movies := sqlstore.NewMovies(db)
		view := func(ctx context.Context) error { return movies.CountView(ctx, "m1", time.Now()) }
		for i, want := range []bool{true, false} {
			applied, err := db.Apply(ctx, events.GroupMovie, "e1", view)
			if err != nil || applied != want {
				t.Fatalf("apply %d: applied=%v err=%v, want %v", i, applied, err, want)
			}
		}
		if applied, err := db.Apply(ctx, events.GroupAnalytics, "e1", func(context.Context) error { return nil }); !applied || err != nil {
			t.Fatalf("another group must apply the same event: %v %v", applied, err)
		}
		boom := errors.New("boom")
		applied, err := db.Apply(ctx, events.GroupMovie, "e2", func(ctx context.Context) error {
			if err := view(ctx); err != nil {
				return err
			}
			return boom
		})
		if applied || !errors.Is(err, boom) {
			t.Fatalf("failed apply: %v %v", applied, err)
		}
		m, _, err := movies.Movie(ctx, "m1")
		if err != nil || m.Views != 1 {
			t.Fatalf("views = %d (%v), want 1: a failed apply must roll back", m.Views, err)
		}
		if applied, err := db.Apply(ctx, events.GroupMovie, "e2", view); !applied || err != nil {
			t.Fatalf("retry after failure must apply: %v %v", applied, err)
		}
		if err := movies.CountView(ctx, "m1", time.Now()); err == nil {
			t.Fatal("a write outside Apply must fail")
		}
	})
}

func TestMoviesArriveInAnyOrder(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewMovies(db)
		apply := func(id string, fn func(ctx context.Context) error) {
			t.Helper()
			if _, err := db.Apply(ctx, events.GroupMovie, id, fn); err != nil {
				t.Fatal(err)
			}
		}
		at := time.UnixMilli(1_700_000_000_000).UTC()
		apply("v1", func(ctx context.Context) error { return s.CountView(ctx, "m", at) })
		if m, found, err := s.Movie(ctx, "m"); err != nil || !found || m.Title != "" || m.Views != 1 {
			t.Fatalf("viewed before created: %+v %v", m, err)
		}
		apply("c", func(ctx context.Context) error {
			return s.CreateMovie(ctx, events.MovieCreated{MovieID: "m", Title: "Heat", Year: intp(1995), Genres: []string{"crime"}}, at)
		})
		apply("v2", func(ctx context.Context) error { return s.CountView(ctx, "m", at) })
		apply("u", func(ctx context.Context) error {
			return s.UpdateMovie(ctx, events.MovieUpdated{MovieID: "m", Title: strp("Heat (1995)")}, at.Add(time.Second))
		})
		m, _, err := s.Movie(ctx, "m")
		if err != nil || m.Title != "Heat (1995)" || *m.Year != 1995 || len(m.Genres) != 1 || m.Views != 2 ||
			!m.UpdatedAt.Equal(at.Add(time.Second)) {
			t.Fatalf("got %+v %v", m, err)
		}
		apply("d", func(ctx context.Context) error { return s.DeleteMovie(ctx, "m", at) })
		if _, found, err := s.Movie(ctx, "m"); found || err != nil {
			t.Fatalf("deleted movie: found=%v %v", found, err)
		}
		if top, err := s.TopMovies(ctx, 10); err != nil || len(top) != 0 {
			t.Fatalf("top after delete: %+v %v", top, err)
		}
		// A view of the deleted movie is not shown; created again, the
		// movie starts afresh.
		apply("v3", func(ctx context.Context) error { return s.CountView(ctx, "m", at) })
		if _, found, err := s.Movie(ctx, "m"); found || err != nil {
			t.Fatalf("viewed after its delete: found=%v %v", found, err)
		}
		apply("c2", func(ctx context.Context) error {
			return s.CreateMovie(ctx, events.MovieCreated{MovieID: "m", Title: "Heat 2"}, at.Add(2*time.Second))
		})
		m, found, err := s.Movie(ctx, "m")
		if err != nil || !found || m.Title != "Heat 2" || m.Year != nil || len(m.Genres) != 0 || m.Views != 0 {
			t.Fatalf("created again: %+v found=%v %v, want Heat 2 with 0 views", m, found, err)
		}
		// An update of a movie never created is seen (GET answers it).
		apply("u2", func(ctx context.Context) error {
			return s.UpdateMovie(ctx, events.MovieUpdated{MovieID: "only-updated", Title: strp("Ronin")}, at)
		})
		if m, found, err := s.Movie(ctx, "only-updated"); err != nil || !found || m.Title != "Ronin" || m.Views != 0 {
			t.Fatalf("updated, never created: %+v found=%v %v", m, found, err)
		}
	})
}

func TestAnalyticsAggregates(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewAnalytics(db)
		n := 0
		apply := func(fn func(ctx context.Context, id string) error) {
			t.Helper()
			n++
			id := string(rune('a' + n))
			if _, err := db.Apply(ctx, events.GroupAnalytics, id, func(ctx context.Context) error { return fn(ctx, id) }); err != nil {
				t.Fatal(err)
			}
		}
		at := time.UnixMilli(1_700_000_000_000).UTC()
		view := func(user string, secs int64, at time.Time) {
			apply(func(ctx context.Context, id string) error {
				return s.RecordView(ctx, id, events.MovieViewed{MovieID: "m", UserID: user, WatchedSeconds: i64p(secs)}, at)
			})
		}
		act := func(a events.UserAction) {
			apply(func(ctx context.Context, id string) error { return s.RecordAction(ctx, id, a, at) })
		}
		view("u1", 10, at)
		view("u1", 20, at.Add(time.Minute))
		view("u2", 5, at.Add(-time.Minute))
		act(events.UserAction{UserID: "u1", Type: events.ActionLike, MovieID: "m"})
		act(events.UserAction{UserID: "u1", Type: events.ActionLike, MovieID: "m"})
		act(events.UserAction{UserID: "u2", Type: events.ActionLike, MovieID: "m"})
		act(events.UserAction{UserID: "u2", Type: events.ActionUnlike, MovieID: "m"})
		act(events.UserAction{UserID: "u1", Type: events.ActionRate, MovieID: "m", Rating: intp(2)})
		act(events.UserAction{UserID: "u1", Type: events.ActionRate, MovieID: "m", Rating: intp(4)})
		act(events.UserAction{UserID: "u2", Type: events.ActionRate, MovieID: "m", Rating: intp(5)})
		act(events.UserAction{UserID: "u1", Type: events.ActionSearch, Query: "heat"})

		st, err := s.MovieStats(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		if st.Views != 3 || st.UniqueViewers != 2 || st.WatchedSeconds != 35 || st.Likes != 1 || st.RatingAvg != 4.5 ||
			!st.LastViewedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("movie stats: %+v", st)
		}
		us, err := s.UserStats(ctx, "u1")
		if err != nil || us.Views != 2 || us.Actions["like"] != 2 || us.Actions["rate"] != 2 || us.Actions["search"] != 1 || len(us.Actions) != 3 {
			t.Fatalf("user stats: %+v %v", us, err)
		}
		for _, metric := range []string{"views", "uniqueViewers", "watchedSeconds", "likes", "ratingAvg"} {
			top, err := s.TopMovies(ctx, metric, 5)
			if err != nil || len(top) != 1 || top[0].MovieID != "m" {
				t.Fatalf("top by %s: %+v %v", metric, top, err)
			}
		}
		if empty, err := s.MovieStats(ctx, "never"); err != nil || empty.Views != 0 || empty.LastViewedAt != nil {
			t.Fatalf("unknown movie: %+v %v", empty, err)
		}
	})
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewDeliveries(db)
		at := time.UnixMilli(1_700_000_000_000).UTC()
		d := notification.Delivery{
			Message: notification.Message{ID: "n1", UserID: "u", Channel: "email", Subject: "hi", Body: "b"},
			Status:  notification.StatusFailed, Attempts: 3, Error: "503", RequestedAt: at, FirstAttemptAt: at, LastAttemptAt: at,
		}
		for i, id := range []string{"e1", "e2"} {
			if i == 1 {
				d.Status, d.Attempts, d.Error = notification.StatusDelivered, 1, ""
			}
			if _, err := db.Apply(ctx, events.GroupNotification, id, func(ctx context.Context) error { return s.RecordDelivery(ctx, d) }); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.UserDeliveries(ctx, "u", 20)
		if err != nil || len(got) != 1 || got[0].Status != notification.StatusDelivered || got[0].Attempts != 4 || got[0].Subject != "hi" {
			t.Fatalf("deliveries: %+v %v", got, err)
		}
		// A page holds the latest deliveries, newest first, up to the limit.
		for i, id := range []string{"n2", "n3"} {
			d.ID, d.RequestedAt = id, at.Add(time.Duration(i+1)*time.Minute)
			if _, err := db.Apply(ctx, events.GroupNotification, "e-"+id, func(ctx context.Context) error { return s.RecordDelivery(ctx, d) }); err != nil {
				t.Fatal(err)
			}
		}
		page, err := s.UserDeliveries(ctx, "u", 2)
		if err != nil || len(page) != 2 || page[0].ID != "n3" || page[1].ID != "n2" {
			t.Fatalf("page of 2: %+v %v", page, err)
		}
	})
}

// TestConcurrentApplyKeepsEachEventAlone applies events from many goroutines
// at once (on SQLite they share group-committed transactions): failures roll
// back only their own writes, duplicates apply once, and every reported
// success is durable.
func TestConcurrentApplyKeepsEachEventAlone(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		movies := sqlstore.NewMovies(db)
		boom := errors.New("boom")
		var mu sync.Mutex
		applied := 0
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 60 {
					id := fmt.Sprint("e", (w*60+i)%300) // goroutines w and w+5 share ids: duplicates
					fail := i%7 == 3
					ok, err := db.Apply(ctx, events.GroupMovie, id+fmt.Sprint(fail), func(ctx context.Context) error {
						if err := movies.CountView(ctx, "m", time.Now()); err != nil {
							return err
						}
						if fail {
							return boom
						}
						return nil
					})
					if fail != (err != nil) || (err != nil && !errors.Is(err, boom)) {
						t.Errorf("event %s: fail=%v err=%v", id, fail, err)
					}
					if ok {
						mu.Lock()
						applied++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		m, found, err := movies.Movie(ctx, "m")
		if err != nil || !found || m.Views != int64(applied) {
			t.Fatalf("views = %d, applied = %d (%v)", m.Views, applied, err)
		}
		// 480 attempts over 300 distinct ids; every id whose i%7 != 3 applies once.
		want := 0
		for id := range 300 {
			if (id%60)%7 != 3 {
				want++
			}
		}
		if applied != want {
			t.Fatalf("applied %d events, want %d", applied, want)
		}
	})
}
