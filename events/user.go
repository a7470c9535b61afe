package events

import "slices"

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
func (e UserAction) Validate() error {
	switch {
	case e.UserID == "":
		return Malformed("userId is required")
	case !slices.Contains(ActionTypes(), e.Type):
		return Malformed("type %q is not a known action", e.Type)
	case e.Type == ActionRate && (e.Rating == nil || *e.Rating < 1 || *e.Rating > 5):
		return Malformed("rating must be 1 to 5 for rate")
	case (e.Type == ActionRate || e.Type == ActionLike || e.Type == ActionUnlike) && e.MovieID == "":
		return Malformed("movieId is required for %s", e.Type)
	}
	return nil
}
