package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
)

type actionRequest struct {
	Type    string `json:"type"`
	MovieID string `json:"movieId"`
	Rating  *int   `json:"rating"`
	Query   string `json:"query"`
}

// userAction: POST /users/{id}/actions → user.action.
func (s *Server) userAction(c echo.Context) error {
	userID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req actionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	data := events.UserAction{UserID: userID, Type: req.Type, MovieID: req.MovieID, Rating: req.Rating, Query: req.Query}
	if err := data.Validate(); err != nil {
		return err
	}
	return s.accept(c, events.TopicUserActions, events.TypeUserAction, userID, data)
}
