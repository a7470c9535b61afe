package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/handlers/analytics"
)

// AnalyticsQueries reads the analytics aggregates.
type AnalyticsQueries interface {
	MovieStats(ctx context.Context, movieID string) (analytics.MovieStats, error)
	TopMovies(ctx context.Context, metric string, limit int) ([]analytics.MovieStats, error)
	UserStats(ctx context.Context, userID string) (analytics.UserStats, error)
}

type movieStatsResponse struct {
	MovieID        string     `json:"movieId"`
	Views          int64      `json:"views"`
	UniqueViewers  int64      `json:"uniqueViewers"`
	WatchedSeconds int64      `json:"watchedSeconds"`
	Likes          int64      `json:"likes"`
	RatingAvg      float64    `json:"ratingAvg"`
	LastViewedAt   *time.Time `json:"lastViewedAt"`
}

type userStatsResponse struct {
	UserID  string           `json:"userId"`
	Views   int64            `json:"views"`
	Actions map[string]int64 `json:"actions"`
}

func toStatsResponse(s analytics.MovieStats) movieStatsResponse {
	return movieStatsResponse{MovieID: s.MovieID, Views: s.Views, UniqueViewers: s.UniqueViewers,
		WatchedSeconds: s.WatchedSeconds, Likes: s.Likes, RatingAvg: s.RatingAvg, LastViewedAt: s.LastViewedAt}
}

// movieStats: GET /analytics/movies/{id}; zeros for a movie never seen.
func (s *Server) movieStats(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	st, err := s.analytics.MovieStats(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toStatsResponse(st))
}

// userStats: GET /analytics/users/{id}; zeros for a user never seen.
func (s *Server) userStats(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	us, err := s.analytics.UserStats(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userStatsResponse{UserID: us.UserID, Views: us.Views, Actions: us.Actions})
}

// topMovies: GET /analytics/top?metric=views&limit=N.
func (s *Server) topMovies(c echo.Context) error {
	metric := c.QueryParam("metric")
	if metric == "" {
		metric = "views"
	}
	if !slices.Contains(analytics.RankMetrics(), metric) {
		return invalid("metric", "metric must be one of %s", strings.Join(analytics.RankMetrics(), ", "))
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	top, err := s.analytics.TopMovies(c.Request().Context(), metric, limit)
	if err != nil {
		return err
	}
	out := make([]movieStatsResponse, len(top))
	for i, st := range top {
		out[i] = toStatsResponse(st)
	}
	return c.JSON(http.StatusOK, out)
}
