package httpapi

import (
	"slices"
	"strings"

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
	if !slices.Contains(events.ActionTypes(), req.Type) {
		return invalid("type", "type must be one of %s", strings.Join(events.ActionTypes(), ", "))
	}
	needsMovie := req.Type == events.ActionLike || req.Type == events.ActionUnlike || req.Type == events.ActionRate
	if err := checkID("movieId", req.MovieID, needsMovie); err != nil {
		return err
	}
	switch {
	case req.Type == events.ActionRate && (req.Rating == nil || *req.Rating < 1 || *req.Rating > 5):
		return invalid("rating", "rating must be 1 to 5 for rate")
	case req.Type != events.ActionRate && req.Rating != nil:
		return invalid("rating", "rating is only for rate")
	case req.Type == events.ActionSearch:
		if err := checkText("query", req.Query, 1, 500); err != nil {
			return err
		}
	}
	return s.accept(c, events.TopicUserActions, events.TypeUserAction, userID,
		events.UserAction{UserID: userID, Type: req.Type, MovieID: req.MovieID, Rating: req.Rating, Query: req.Query})
}
