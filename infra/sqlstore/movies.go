package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/movie"
)

// Movies is the movie catalog: it satisfies movie.Store and serves its queries.
type Movies struct{ db *DB }

// NewMovies returns the catalog on db.
func NewMovies(db *DB) *Movies { return &Movies{db: db} }

// CreateMovie inserts the movie, or fills in the row a view created first and
// keeps its view count. A deleted movie created again starts afresh: its
// fields are the event's and its view count is zero.
func (s *Movies) CreateMovie(ctx context.Context, m events.MovieCreated, at time.Time) error {
	tx, err := s.db.tx(ctx)
	if err != nil {
		return err
	}
	genres, err := encodeGenres(m.Genres)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO movies (id, title, year, genres, created, deleted, views, updated_at)
		VALUES ($1, $2, $3, $4, 1, 0, 0, $5)
		ON CONFLICT (id) DO UPDATE SET title = excluded.title, year = excluded.year,
			genres = excluded.genres, created = 1, deleted = 0, updated_at = excluded.updated_at,
			views = CASE WHEN movies.deleted = 1 THEN 0 ELSE movies.views END`,
		m.MovieID, m.Title, m.Year, genres, millis(at))
	return err
}

// UpdateMovie sets the fields the event carries. An update of an unknown
// movie creates its row (GET answers it), so that a producer that only
// sends updates is seen; an update of a deleted movie changes it but it
// stays deleted.
func (s *Movies) UpdateMovie(ctx context.Context, m events.MovieUpdated, at time.Time) error {
	tx, err := s.db.tx(ctx)
	if err != nil {
		return err
	}
	var genres *string
	if m.Genres != nil {
		g, err := encodeGenres(*m.Genres)
		if err != nil {
			return err
		}
		genres = &g
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO movies (id, title, year, genres, created, views, updated_at)
		VALUES ($1, $2, $3, $4, 1, 0, $5)
		ON CONFLICT (id) DO UPDATE SET
			title = COALESCE(excluded.title, movies.title),
			year = COALESCE(excluded.year, movies.year),
			genres = COALESCE(excluded.genres, movies.genres),
			created = 1, updated_at = excluded.updated_at`,
		m.MovieID, m.Title, m.Year, genres, millis(at))
	return err
}

// DeleteMovie marks the movie deleted. Views of a deleted movie are still
// counted (a view may be applied after the delete though posted before it),
// but not shown, and a movie.created discards them.
func (s *Movies) DeleteMovie(ctx context.Context, movieID string, at time.Time) error {
	tx, err := s.db.tx(ctx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO movies (id, deleted, views, updated_at) VALUES ($1, 1, 0, $2)
		ON CONFLICT (id) DO UPDATE SET deleted = 1, updated_at = excluded.updated_at`,
		movieID, millis(at))
	return err
}

// CountView adds one view, creating the row if the movie is not known yet.
func (s *Movies) CountView(ctx context.Context, movieID string, at time.Time) error {
	return s.CountViews(ctx, []movie.ViewCount{{MovieID: movieID, N: 1, At: at}})
}

// CountViews adds each movie's views (one entry per movie), creating the
// rows of movies not known yet: a few multi-row statements.
func (s *Movies) CountViews(ctx context.Context, views []movie.ViewCount) error {
	tx, err := s.db.tx(ctx)
	if err != nil {
		return err
	}
	ids, ns, at := make([]string, len(views)), make([]int64, len(views)), make([]int64, len(views))
	for i, v := range views {
		ids[i], ns[i], at[i] = v.MovieID, int64(v.N), millis(v.At)
	}
	return tx.execRows(ctx, tx.insertInto("movies")+` (id, views, updated_at)`, `
			ON CONFLICT (id) DO UPDATE SET views = movies.views + excluded.views,
				updated_at = CASE WHEN excluded.updated_at > movies.updated_at THEN excluded.updated_at ELSE movies.updated_at END`,
		nil, ids, ns, at)
}

const movieColumns = `id, COALESCE(title, ''), year, genres, views, updated_at`

// Movie returns a movie that was created or viewed and is not deleted;
// found is false for any other id.
func (s *Movies) Movie(ctx context.Context, id string) (m movie.Movie, found bool, err error) {
	row := s.db.read.QueryRowContext(ctx, `SELECT `+movieColumns+` FROM movies WHERE id = $1 AND deleted = 0`, id)
	m, err = scanMovie(row)
	if errors.Is(err, sql.ErrNoRows) {
		return movie.Movie{}, false, nil
	}
	return m, err == nil, err
}

// TopMovies lists up to limit movies, most viewed first (ties by id).
func (s *Movies) TopMovies(ctx context.Context, limit int) ([]movie.Movie, error) {
	rows, err := s.db.read.QueryContext(ctx,
		`SELECT `+movieColumns+` FROM movies WHERE deleted = 0 ORDER BY views DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []movie.Movie{}
	for rows.Next() {
		m, err := scanMovie(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func scanMovie(row interface{ Scan(...any) error }) (movie.Movie, error) {
	var (
		m       movie.Movie
		year    sql.NullInt64
		genres  sql.NullString
		updated int64
	)
	if err := row.Scan(&m.ID, &m.Title, &year, &genres, &m.Views, &updated); err != nil {
		return movie.Movie{}, err
	}
	if year.Valid {
		y := int(year.Int64)
		m.Year = &y
	}
	m.Genres = []string{}
	if genres.Valid && genres.String != "" {
		if err := json.Unmarshal([]byte(genres.String), &m.Genres); err != nil {
			return movie.Movie{}, err
		}
	}
	m.UpdatedAt = fromMillis(updated)
	return m, nil
}

func encodeGenres(g []string) (string, error) {
	if g == nil {
		g = []string{}
	}
	b, err := json.Marshal(g)
	return string(b), err
}
