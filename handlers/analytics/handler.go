// Package analytics records raw views and user actions and keeps their
// aggregates (consumer group analytics-group, topics movie-views and
// user-actions).
package analytics

import (
	"context"
	"time"

	"github.com/reelay/reelay/events"
)

// Store is the analytics read model. A handler calls it inside the event's
// inbox transaction: its writes commit together with the event being marked
// done. eventID is the event's dedup id (events.Envelope.DedupID), unique
// across sources: a store may key a row per event by it.
type Store interface {
	// RecordViews stores the raw views and updates the movies' and the
	// users' aggregates.
	RecordViews(ctx context.Context, views []View) error
	// RecordAction stores the raw action and updates the user's action counts
	// and, for like, unlike and rate, the movie's likes and rating.
	RecordAction(ctx context.Context, eventID string, a events.UserAction, at time.Time) error
}

// View is one view to record: the event's dedup id, the view, its time.
type View struct {
	EventID string
	events.MovieViewed
	At time.Time
}

// Handler applies views and user actions to the Store.
type Handler struct{ store Store }

// New returns the analytics-group consumer.
func New(store Store) events.Consumer {
	h := Handler{store: store}
	return events.Consumer{
		Name:   "analytics",
		Group:  events.GroupAnalytics,
		Topics: []string{events.TopicMovieViews, events.TopicUserActions},
		Routes: []events.Route{
			events.OnBatch(events.TypeMovieViewed, h.viewed),
			events.On(events.TypeUserAction, h.action),
		},
	}
}

// MovieStats are the aggregates of one movie.
type MovieStats struct {
	MovieID        string
	Views          int64
	UniqueViewers  int64
	WatchedSeconds int64
	// Likes counts users who like the movie now: like adds the user once,
	// unlike removes them.
	Likes int64
	// RatingAvg averages each user's latest rating; zero when unrated.
	RatingAvg    float64
	LastViewedAt *time.Time
}

// UserStats are the aggregates of one user.
type UserStats struct {
	UserID  string
	Views   int64
	Actions map[string]int64
}

// RankMetrics are the MovieStats fields by which movies can be ranked.
func RankMetrics() []string {
	return []string{"views", "uniqueViewers", "watchedSeconds", "likes", "ratingAvg"}
}
