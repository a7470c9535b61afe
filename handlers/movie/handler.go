// Package movie keeps the movie catalog and view counts (consumer group
// movie-group, topics movie-events and movie-views).
package movie

import (
	"context"
	"time"

	"github.com/reelay/reelay/events"
)

// Store is the movie read model. A handler calls it inside the event's inbox
// transaction: its writes commit together with the event being marked done.
//
// Events of movie-events and movie-views are not ordered against each other,
// so every method must leave the same result whatever the arrival order: a
// view may create the row before movie.created gives it a title.
type Store interface {
	CreateMovie(ctx context.Context, m events.MovieCreated, at time.Time) error
	UpdateMovie(ctx context.Context, m events.MovieUpdated, at time.Time) error
	DeleteMovie(ctx context.Context, movieID string, at time.Time) error
	// CountViews adds each movie's views, in one write for the batch.
	CountViews(ctx context.Context, views []ViewCount) error
}

// ViewCount is a number of views of one movie, the latest at At.
type ViewCount struct {
	MovieID string
	N       int64
	At      time.Time
}

// Handler applies movie events to the Store.
type Handler struct{ store Store }

// New returns the movie-group consumer.
func New(store Store) events.Consumer {
	h := Handler{store: store}
	return events.Consumer{
		Name:   "movie",
		Group:  events.GroupMovie,
		Topics: []string{events.TopicMovieEvents, events.TopicMovieViews},
		Routes: []events.Route{
			events.On(events.TypeMovieCreated, h.created),
			events.On(events.TypeMovieUpdated, h.updated),
			events.On(events.TypeMovieDeleted, h.deleted),
			events.OnBatch(events.TypeMovieViewed, h.viewed),
		},
	}
}

// Movie is the catalog read model of one movie. A movie known only from views
// has an empty Title until its movie.created arrives.
type Movie struct {
	ID        string
	Title     string
	Year      *int
	Genres    []string
	Views     int64
	UpdatedAt time.Time
}
