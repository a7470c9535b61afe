package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
)

type viewRequest struct {
	UserID         string `json:"userId"`
	WatchedSeconds *int64 `json:"watchedSeconds"`
}

// viewMovie: POST /movies/{id}/views → movie.viewed.
func (s *Server) viewMovie(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req viewRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkID("userId", req.UserID, true); err != nil {
		return err
	}
	if req.WatchedSeconds != nil && (*req.WatchedSeconds < 0 || *req.WatchedSeconds > events.MaxWatchedSeconds) {
		return invalid("watchedSeconds", "watchedSeconds must be 0 to %d", events.MaxWatchedSeconds)
	}
	return s.accept(c, events.TopicMovieViews, events.TypeMovieViewed, id,
		events.MovieViewed{MovieID: id, UserID: req.UserID, WatchedSeconds: req.WatchedSeconds})
}
