package events

// Movie event types, on TopicMovieEvents and TopicMovieViews.
const (
	TypeMovieCreated = "movie.created"
	TypeMovieUpdated = "movie.updated"
	TypeMovieDeleted = "movie.deleted"
	TypeMovieViewed  = "movie.viewed"
)

// MovieCreated is the data of movie.created.
type MovieCreated struct {
	MovieID string   `json:"movieId"`
	Title   string   `json:"title"`
	Year    *int     `json:"year,omitempty"`
	Genres  []string `json:"genres,omitempty"`
}

// Validate reports a missing required field.
func (e MovieCreated) Validate() error {
	if e.MovieID == "" {
		return Malformed("movieId is required")
	}
	if e.Title == "" {
		return Malformed("title is required")
	}
	return nil
}

// MovieUpdated is the data of movie.updated. Nil fields are left unchanged.
type MovieUpdated struct {
	MovieID string    `json:"movieId"`
	Title   *string   `json:"title,omitempty"`
	Year    *int      `json:"year,omitempty"`
	Genres  *[]string `json:"genres,omitempty"`
}

// Validate reports a missing required field.
func (e MovieUpdated) Validate() error {
	if e.MovieID == "" {
		return Malformed("movieId is required")
	}
	return nil
}

// MovieDeleted is the data of movie.deleted.
type MovieDeleted struct {
	MovieID string `json:"movieId"`
}

// Validate reports a missing required field.
func (e MovieDeleted) Validate() error {
	if e.MovieID == "" {
		return Malformed("movieId is required")
	}
	return nil
}

// MaxWatchedSeconds bounds one view's watchedSeconds (a day), so that sums
// stay far from overflow.
const MaxWatchedSeconds = 86400

// MovieViewed is the data of movie.viewed.
type MovieViewed struct {
	MovieID        string `json:"movieId"`
	UserID         string `json:"userId"`
	WatchedSeconds *int64 `json:"watchedSeconds,omitempty"`
}

// Validate reports a missing required field or a negative duration.
func (e MovieViewed) Validate() error {
	switch {
	case e.MovieID == "":
		return Malformed("movieId is required")
	case e.UserID == "":
		return Malformed("userId is required")
	case e.WatchedSeconds != nil && (*e.WatchedSeconds < 0 || *e.WatchedSeconds > MaxWatchedSeconds):
		return Malformed("watchedSeconds must be 0 to %d", MaxWatchedSeconds)
	}
	return nil
}
