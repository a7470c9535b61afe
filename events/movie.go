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

// Validate applies the bounds of rules.go.
func (e MovieCreated) Validate() error {
	return firstError(CheckID("movieId", e.MovieID, true), CheckText("title", e.Title, 1, MaxTitleLength, false),
		CheckYear(e.Year), CheckGenres(e.Genres))
}

// MovieUpdated is the data of movie.updated. Nil fields are left unchanged.
type MovieUpdated struct {
	MovieID string    `json:"movieId"`
	Title   *string   `json:"title,omitempty"`
	Year    *int      `json:"year,omitempty"`
	Genres  *[]string `json:"genres,omitempty"`
}

// Validate applies the bounds of rules.go to the fields that are set.
func (e MovieUpdated) Validate() error {
	errs := []error{CheckID("movieId", e.MovieID, true), CheckYear(e.Year)}
	if e.Title != nil {
		errs = append(errs, CheckText("title", *e.Title, 1, MaxTitleLength, false))
	}
	if e.Genres != nil {
		errs = append(errs, CheckGenres(*e.Genres))
	}
	return firstError(errs...)
}

// MovieDeleted is the data of movie.deleted.
type MovieDeleted struct {
	MovieID string `json:"movieId"`
}

// Validate applies the bounds of rules.go.
func (e MovieDeleted) Validate() error { return CheckID("movieId", e.MovieID, true) }

// MovieViewed is the data of movie.viewed.
type MovieViewed struct {
	MovieID        string `json:"movieId"`
	UserID         string `json:"userId"`
	WatchedSeconds *int64 `json:"watchedSeconds,omitempty"`
}

// Validate applies the bounds of rules.go.
func (e MovieViewed) Validate() error {
	return firstError(CheckID("movieId", e.MovieID, true), CheckID("userId", e.UserID, true), CheckWatchedSeconds(e.WatchedSeconds))
}
