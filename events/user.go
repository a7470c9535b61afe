package events

import (
	"slices"
	"strings"
)

// TypeUserAction is the event type on TopicUserActions.
const TypeUserAction = "user.action"

// User action kinds, the Type of a UserAction.
const (
	ActionLike                = "like"
	ActionUnlike              = "unlike"
	ActionRate                = "rate"
	ActionAddToWatchlist      = "add_to_watchlist"
	ActionRemoveFromWatchlist = "remove_from_watchlist"
	ActionSearch              = "search"
	ActionShare               = "share"
)

// ActionTypes lists the accepted user action kinds.
func ActionTypes() []string {
	return []string{ActionLike, ActionUnlike, ActionRate, ActionAddToWatchlist,
		ActionRemoveFromWatchlist, ActionSearch, ActionShare}
}

// UserAction is the data of user.action.
type UserAction struct {
	UserID  string `json:"userId"`
	Type    string `json:"type"`
	MovieID string `json:"movieId,omitempty"`
	Rating  *int   `json:"rating,omitempty"`
	Query   string `json:"query,omitempty"`
}

// Validate checks the action kind and the fields it needs: rate needs a
// movieId and a rating of 1 to 5, like and unlike need a movieId.
// A search needs a query of 1 to MaxQueryLength characters; only rate has a
// rating.
func (e UserAction) Validate() error {
	if err := CheckID("userId", e.UserID, true); err != nil {
		return err
	}
	if !slices.Contains(ActionTypes(), e.Type) {
		return Invalid("type", "type must be one of %s", strings.Join(ActionTypes(), ", "))
	}
	needsMovie := e.Type == ActionRate || e.Type == ActionLike || e.Type == ActionUnlike
	if e.MovieID == "" && needsMovie {
		return Invalid("movieId", "movieId is required for %s", e.Type)
	}
	if err := CheckID("movieId", e.MovieID, false); err != nil {
		return err
	}
	switch {
	case e.Type == ActionRate && (e.Rating == nil || *e.Rating < 1 || *e.Rating > 5):
		return Invalid("rating", "rating must be 1 to 5 for rate")
	case e.Type != ActionRate && e.Rating != nil:
		return Invalid("rating", "rating is only for rate")
	case e.Type == ActionSearch:
		return CheckText("query", e.Query, 1, MaxQueryLength, false)
	case e.Query != "":
		return CheckText("query", e.Query, 0, MaxQueryLength, false)
	}
	return nil
}
