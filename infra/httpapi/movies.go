package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/movie"
)

// MovieQueries reads the movie catalog.
type MovieQueries interface {
	Movie(ctx context.Context, id string) (m movie.Movie, found bool, err error)
	TopMovies(ctx context.Context, limit int) ([]movie.Movie, error)
}

type createMovieRequest struct {
	ID     string   `json:"id"`
	Title  *string  `json:"title"`
	Year   *int     `json:"year"`
	Genres []string `json:"genres"`
}

type updateMovieRequest struct {
	Title  *string   `json:"title"`
	Year   *int      `json:"year"`
	Genres *[]string `json:"genres"`
}

type movieResponse struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Year      *int      `json:"year"`
	Genres    []string  `json:"genres"`
	Views     int64     `json:"views"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func toMovieResponse(m movie.Movie) movieResponse {
	return movieResponse{ID: m.ID, Title: m.Title, Year: m.Year, Genres: m.Genres, Views: m.Views, UpdatedAt: m.UpdatedAt}
}

// createMovie: POST /movies → movie.created.
func (s *Server) createMovie(c echo.Context) error {
	var req createMovieRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Title == nil {
		return invalid("title", "title is required")
	}
	if err := events.CheckID("id", req.ID, false); err != nil {
		return err
	}
	if req.ID == "" {
		id, err := derivedID(c, "movie")
		if err != nil {
			return err
		}
		req.ID = id
	}
	data := events.MovieCreated{MovieID: req.ID, Title: *req.Title, Year: req.Year, Genres: req.Genres}
	if err := data.Validate(); err != nil {
		return err
	}
	eventID, err := s.publish(c, events.TopicMovieEvents, events.TypeMovieCreated, req.ID, data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, acceptedBody{MovieID: req.ID, EventID: eventID})
}

// updateMovie: PUT /movies/{id} → movie.updated.
func (s *Server) updateMovie(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateMovieRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Title == nil && req.Year == nil && req.Genres == nil {
		return invalid("", "give at least one of title, year, genres")
	}
	data := events.MovieUpdated{MovieID: id, Title: req.Title, Year: req.Year, Genres: req.Genres}
	if err := data.Validate(); err != nil {
		return err
	}
	return s.accept(c, events.TopicMovieEvents, events.TypeMovieUpdated, id, data)
}

// deleteMovie: DELETE /movies/{id} → movie.deleted.
func (s *Server) deleteMovie(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return s.accept(c, events.TopicMovieEvents, events.TypeMovieDeleted, id, events.MovieDeleted{MovieID: id})
}

// getMovie: GET /movies/{id}.
func (s *Server) getMovie(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	m, found, err := s.movies.Movie(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !found {
		return notFound("movie " + id)
	}
	return c.JSON(http.StatusOK, toMovieResponse(m))
}

// listMovies: GET /movies?sort=views&limit=N, most viewed first.
func (s *Server) listMovies(c echo.Context) error {
	if sort := c.QueryParam("sort"); sort != "" && sort != "views" {
		return invalid("sort", "sort must be views")
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ms, err := s.movies.TopMovies(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	out := make([]movieResponse, len(ms))
	for i, m := range ms {
		out[i] = toMovieResponse(m)
	}
	return c.JSON(http.StatusOK, out)
}
