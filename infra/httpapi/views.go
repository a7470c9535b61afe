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
	data := events.MovieViewed{MovieID: id, UserID: req.UserID, WatchedSeconds: req.WatchedSeconds}
	if err := data.Validate(); err != nil {
		return err
	}
	return s.accept(c, events.TopicMovieViews, events.TypeMovieViewed, id, data)
}
