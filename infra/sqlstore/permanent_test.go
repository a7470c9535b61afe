package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/analytics"
	"github.com/reelay/reelay/infra/sqlstore"
)

// TestErrorsNoRetryCanFixArePermanent: a constraint violation (both stores)
// and text PostgreSQL cannot store (a NUL byte) are permanent, so the router
// dead-letters them at the first attempt; a cancelled context is not.
func TestErrorsNoRetryCanFixArePermanent(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := sqlstore.NewAnalytics(db)
		view := events.MovieViewed{MovieID: "m", UserID: "u"}
		record := func(inboxID string) error {
			_, err := db.Apply(ctx, events.GroupAnalytics, inboxID, func(ctx context.Context) error {
				return s.RecordView(ctx, "same-view-id", view, time.Now())
			})
			return err
		}
		if err := record("e1"); err != nil {
			t.Fatal(err)
		}
		err := record("e2") // views.event_id is a primary key
		if err == nil || !events.IsPermanent(err) {
			t.Fatalf("constraint violation: err = %v, want permanent", err)
		}

		movies := sqlstore.NewMovies(db)
		_, err = db.Apply(ctx, events.GroupMovie, "nul", func(ctx context.Context) error {
			return movies.CreateMovie(ctx, events.MovieCreated{MovieID: "m", Title: "a\x00b"}, time.Now())
		})
		if t.Name() == "TestErrorsNoRetryCanFixArePermanent/postgres" && (err == nil || !events.IsPermanent(err)) {
			t.Fatalf("NUL byte on PostgreSQL: err = %v, want permanent", err)
		}

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = db.Apply(cancelled, events.GroupMovie, "cancelled", func(ctx context.Context) error {
			return movies.CountView(ctx, "m", time.Now())
		})
		if err == nil || events.IsPermanent(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: err = %v, want a transient context.Canceled", err)
		}
	})
}

// TestWriteErrorsNameTheStatement: a write that fails says which statement
// it was, and still classifies as the driver's error (a unique violation is
// permanent).
func TestWriteErrorsNameTheStatement(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		view := analytics.View{EventID: "same", MovieViewed: events.MovieViewed{MovieID: "m", UserID: "u"}, At: time.Now()}
		_, err := db.Apply(context.Background(), "g", "e-op", func(ctx context.Context) error {
			return sqlstore.NewAnalytics(db).RecordViews(ctx, []analytics.View{view, view})
		})
		if err == nil || !strings.Contains(err.Error(), "INSERT INTO views") || !events.IsPermanent(err) {
			t.Fatalf("err %v (permanent %v), want a permanent error naming INSERT INTO views", err, events.IsPermanent(err))
		}
	})
}
