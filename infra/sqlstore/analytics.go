package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/analytics"
)

// Analytics keeps raw views and actions and their aggregates: it satisfies
// analytics.Store and serves its queries.
type Analytics struct{ db *DB }

// NewAnalytics returns the analytics store on db.
func NewAnalytics(db *DB) *Analytics { return &Analytics{db: db} }

// RecordView stores one view; see RecordViews.
func (s *Analytics) RecordView(ctx context.Context, eventID string, v events.MovieViewed, at time.Time) error {
	return s.RecordViews(ctx, []analytics.View{{EventID: eventID, MovieViewed: v, At: at}})
}

// movieViews and userViews aggregate a batch of views per movie and user.
type movieViews struct {
	views, newViewers, watched, last int64
}

// RecordViews stores the views and updates each movie's views, unique
// viewers, watched seconds and last view, and each user's view count: a few
// multi-row statements for the whole batch.
func (s *Analytics) RecordViews(ctx context.Context, views []analytics.View) error {
	tx, err := s.db.tx(ctx)
	if err != nil {
		return err
	}
	return recordViews(ctx, tx, views)
}

func recordViews(ctx context.Context, tx writeTx, views []analytics.View) error {
	// Rows in key order, so that concurrent batches lock them in the same order.
	views = slices.Clone(views)
	slices.SortFunc(views, func(a, b analytics.View) int {
		return cmp.Or(strings.Compare(a.MovieID, b.MovieID), strings.Compare(a.UserID, b.UserID))
	})
	movies, users := map[string]*movieViews{}, map[string]int64{}
	var movieOrder, userOrder []string
	n := len(views)
	ids, movieIDs, userIDs, watched, at := make([]string, n), make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, v := range views {
		var w int64
		if v.WatchedSeconds != nil {
			w = *v.WatchedSeconds
		}
		ids[i], movieIDs[i], userIDs[i], watched[i], at[i] = v.EventID, v.MovieID, v.UserID, w, millis(v.At)
		m := movies[v.MovieID]
		if m == nil {
			m = &movieViews{}
			movies[v.MovieID] = m
			movieOrder = append(movieOrder, v.MovieID)
		}
		m.views++
		m.watched += w
		m.last = max(m.last, millis(v.At))
		if _, ok := users[v.UserID]; !ok {
			userOrder = append(userOrder, v.UserID)
		}
		users[v.UserID]++
	}
	slices.Sort(movieOrder)
	slices.Sort(userOrder)
	err := tx.execRows(ctx, tx.insertInto("movie_viewers")+` (movie_id, user_id)`, ` ON CONFLICT DO NOTHING RETURNING movie_id`,
		func(rows *sql.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			movies[id].newViewers++
			return nil
		}, movieIDs, userIDs)
	if err != nil {
		return err
	}
	k := len(movieOrder)
	statViews, statNew, statWatched, statLast := make([]int64, k), make([]int64, k), make([]int64, k), make([]int64, k)
	for i, id := range movieOrder {
		m := movies[id]
		statViews[i], statNew[i], statWatched[i], statLast[i] = m.views, m.newViewers, m.watched, m.last
	}
	perUser := make([]int64, len(userOrder))
	for i, id := range userOrder {
		perUser[i] = users[id]
	}
	for _, st := range []struct {
		head, tail string
		cols       []any
	}{
		{tx.insertInto("views") + ` (event_id, movie_id, user_id, watched_seconds, viewed_at)`, ``,
			[]any{ids, movieIDs, userIDs, watched, at}},
		{tx.insertInto("movie_stats") + ` (movie_id, views, unique_viewers, watched_seconds, last_viewed_at)`, `
		  ON CONFLICT (movie_id) DO UPDATE SET views = movie_stats.views + excluded.views,
			unique_viewers = movie_stats.unique_viewers + excluded.unique_viewers,
			watched_seconds = movie_stats.watched_seconds + excluded.watched_seconds,
			last_viewed_at = CASE WHEN movie_stats.last_viewed_at IS NULL OR excluded.last_viewed_at > movie_stats.last_viewed_at
				THEN excluded.last_viewed_at ELSE movie_stats.last_viewed_at END`,
			[]any{movieOrder, statViews, statNew, statWatched, statLast}},
		{tx.insertInto("user_stats") + ` (user_id, views)`, `
		  ON CONFLICT (user_id) DO UPDATE SET views = user_stats.views + excluded.views`,
			[]any{userOrder, perUser}},
	} {
		if err := tx.execRows(ctx, st.head, st.tail, nil, st.cols...); err != nil {
			return err
		}
	}
	return nil
}

// RecordAction stores the action, counts it for the user and, for like,
// unlike and rate, updates the movie's likes and ratings.
func (s *Analytics) RecordAction(ctx context.Context, eventID string, a events.UserAction, at time.Time) error {
	tx, err := s.db.tx(ctx)
	if err != nil {
		return err
	}
	if err := execAll(ctx, tx, []stmt{
		{`INSERT INTO user_actions (event_id, user_id, type, movie_id, rating, query, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			[]any{eventID, a.UserID, a.Type, a.MovieID, a.Rating, a.Query, millis(at)}},
		{`INSERT INTO user_action_counts (user_id, type, count) VALUES ($1, $2, 1)
		  ON CONFLICT (user_id, type) DO UPDATE SET count = user_action_counts.count + 1`,
			[]any{a.UserID, a.Type}},
	}); err != nil {
		return err
	}
	switch a.Type {
	case events.ActionLike:
		return s.changeLike(ctx, tx, a, `INSERT INTO movie_likes (movie_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, 1)
	case events.ActionUnlike:
		return s.changeLike(ctx, tx, a, `DELETE FROM movie_likes WHERE movie_id = $1 AND user_id = $2`, -1)
	case events.ActionRate:
		return s.rate(ctx, tx, a.MovieID, a.UserID, int64(*a.Rating))
	}
	return nil
}

// changeLike adds delta to the movie's likes when the statement changed the set of likers.
func (s *Analytics) changeLike(ctx context.Context, tx writeTx, a events.UserAction, query string, delta int64) error {
	n, err := execCount(ctx, tx, query, a.MovieID, a.UserID)
	if err != nil || n == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO movie_stats (movie_id, likes) VALUES ($1, $2)
		ON CONFLICT (movie_id) DO UPDATE SET likes = movie_stats.likes + excluded.likes`, a.MovieID, delta)
	return err
}

// rate replaces the user's rating of the movie and keeps the sum and count in step.
func (s *Analytics) rate(ctx context.Context, tx writeTx, movieID, userID string, rating int64) error {
	var old int64
	err := tx.QueryRowContext(ctx, `SELECT rating FROM movie_ratings WHERE movie_id = $1 AND user_id = $2`, movieID, userID).Scan(&old)
	var sumDelta, countDelta int64 = rating - old, 0
	switch {
	case errors.Is(err, sql.ErrNoRows):
		countDelta = 1
	case err != nil:
		return err
	}
	return execAll(ctx, tx, []stmt{
		{`INSERT INTO movie_ratings (movie_id, user_id, rating) VALUES ($1, $2, $3)
		  ON CONFLICT (movie_id, user_id) DO UPDATE SET rating = excluded.rating`, []any{movieID, userID, rating}},
		{`INSERT INTO movie_stats (movie_id, rating_sum, rating_count) VALUES ($1, $2, $3)
		  ON CONFLICT (movie_id) DO UPDATE SET rating_sum = movie_stats.rating_sum + excluded.rating_sum,
			rating_count = movie_stats.rating_count + excluded.rating_count`, []any{movieID, sumDelta, countDelta}},
	})
}

const statsColumns = `movie_id, views, unique_viewers, watched_seconds, likes, rating_sum, rating_count, last_viewed_at`

// MovieStats returns the aggregates of a movie; a movie never seen has zeros.
func (s *Analytics) MovieStats(ctx context.Context, movieID string) (analytics.MovieStats, error) {
	st, err := scanStats(s.db.read.QueryRowContext(ctx, `SELECT `+statsColumns+` FROM movie_stats WHERE movie_id = $1`, movieID))
	if errors.Is(err, sql.ErrNoRows) {
		return analytics.MovieStats{MovieID: movieID}, nil
	}
	return st, err
}

// TopMovies ranks movies by one of analytics.RankMetrics, highest first, ties by id.
func (s *Analytics) TopMovies(ctx context.Context, metric string, limit int) ([]analytics.MovieStats, error) {
	order, ok := map[string]string{
		"views":          "views",
		"uniqueViewers":  "unique_viewers",
		"watchedSeconds": "watched_seconds",
		"likes":          "likes",
		"ratingAvg":      "CASE WHEN rating_count = 0 THEN 0 ELSE CAST(rating_sum AS REAL) / rating_count END",
	}[metric]
	if !ok {
		return nil, fmt.Errorf("unknown metric %q", metric)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+statsColumns+` FROM movie_stats ORDER BY `+order+` DESC, movie_id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []analytics.MovieStats{}
	for rows.Next() {
		st, err := scanStats(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func scanStats(row interface{ Scan(...any) error }) (analytics.MovieStats, error) {
	var (
		st               analytics.MovieStats
		ratingSum, count int64
		last             sql.NullInt64
	)
	if err := row.Scan(&st.MovieID, &st.Views, &st.UniqueViewers, &st.WatchedSeconds, &st.Likes, &ratingSum, &count, &last); err != nil {
		return analytics.MovieStats{}, err
	}
	if count > 0 {
		st.RatingAvg = float64(ratingSum) / float64(count)
	}
	if last.Valid {
		t := fromMillis(last.Int64)
		st.LastViewedAt = &t
	}
	return st, nil
}

// UserStats returns a user's view count and action counts by type.
func (s *Analytics) UserStats(ctx context.Context, userID string) (analytics.UserStats, error) {
	us := analytics.UserStats{UserID: userID, Actions: map[string]int64{}}
	err := s.db.read.QueryRowContext(ctx, `SELECT views FROM user_stats WHERE user_id = $1`, userID).Scan(&us.Views)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return us, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT type, count FROM user_action_counts WHERE user_id = $1`, userID)
	if err != nil {
		return us, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			t string
			n int64
		)
		if err := rows.Scan(&t, &n); err != nil {
			return us, err
		}
		us.Actions[t] = n
	}
	return us, rows.Err()
}

type stmt struct {
	query string
	args  []any
}

func execAll(ctx context.Context, tx writeTx, stmts []stmt) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return err
		}
	}
	return nil
}

func execCount(ctx context.Context, tx writeTx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
