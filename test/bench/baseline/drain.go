package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
	"github.com/twmb/franz-go/pkg/kgo"
	"modernc.org/sqlite" // SQLite

	"github.com/reelay/reelay/events"
)

// drain runs one consumer per group until ctx ends or one of them fails.
func drain(ctx context.Context, addr string, brokers []string, database string, groups []string) error {
	db, err := openDB(database)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var assigned atomic.Int32
	errc := make(chan error, len(groups)+1)
	var wg sync.WaitGroup
	for _, g := range groups {
		apply, ok := appliers[g]
		if !ok {
			return fmt.Errorf("unknown group %q: want movie-group or analytics-group", g)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := consume(ctx, brokers, g, func() { assigned.Add(1) }, func(ctx context.Context, views []view) error {
				return apply(ctx, db, g, views)
			}); err != nil {
				errc <- fmt.Errorf("%s: %w", g, err)
				cancel()
			}
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if int(assigned.Load()) < len(groups) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	if err := serve(ctx, addr, mux); err != nil {
		cancel()
		errc <- err
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// openDB opens the database as Reelay does: SQLite in WAL mode with one
// writer connection and Reelay's writer pragmas (sqlstore.writerPragmas:
// they did not change the baseline's rate, whose transactions are whole
// polls), PostgreSQL with a pool.
func openDB(url string) (*sql.DB, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		db, err := sql.Open("pgx", url)
		if err == nil {
			db.SetMaxOpenConns(4)
		}
		return db, err
	}
	db, err := sql.Open("sqlite", "file:"+url+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"+
		"&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(10000)")
	if err == nil {
		db.SetMaxOpenConns(1)
	}
	return db, err
}

// isSQLite reports whether db is SQLite's.
func isSQLite(db *sql.DB) bool {
	_, ok := db.Driver().(*sqlite.Driver)
	return ok
}

// view is one decoded movie.viewed record.
type view struct {
	id      string // the inbox key, events.DedupID(source, id) as Reelay's
	movie   string
	user    string
	watched int64
	at      int64 // Unix ms
}

// consume polls movie-views in group baseline-<group> from the oldest offset
// and hands each poll's views to apply, committing its offsets after.
// Records that are not valid views are skipped.
func consume(ctx context.Context, brokers []string, group string, onAssigned func(), apply func(context.Context, []view) error) error {
	var once sync.Once
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumerGroup("baseline-"+group),
		kgo.ConsumeTopics(events.TopicMovieViews),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { once.Do(onAssigned) }),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	defer cl.AllowRebalance()
	for {
		fetches := cl.PollRecords(ctx, 10_000)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			fmt.Fprintf(os.Stderr, "baseline: fetch %s/%d: %v\n", t, p, err)
		})
		recs := fetches.Records()
		if len(recs) > 0 {
			views := make([]view, 0, len(recs))
			for _, r := range recs {
				if v, ok := decode(r); ok {
					views = append(views, v)
				}
			}
			for attempt := 1; ; attempt++ {
				err := apply(ctx, views)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return nil
				}
				if attempt == 5 {
					return err
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err := cl.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "baseline: commit: %v\n", err)
			}
		}
		cl.AllowRebalance()
	}
}

func decode(r *kgo.Record) (view, bool) {
	var source, id string
	for _, h := range r.Headers {
		switch h.Key {
		case events.HeaderSource:
			source = string(h.Value)
		case events.HeaderID:
			id = string(h.Value)
		}
	}
	var data events.MovieViewed
	if id == "" || source == "" || json.Unmarshal(r.Value, &data) != nil || data.MovieID == "" || data.UserID == "" {
		return view{}, false
	}
	v := view{id: events.DedupID(source, id), movie: data.MovieID, user: data.UserID, at: r.Timestamp.UnixMilli()}
	if data.WatchedSeconds != nil {
		v.watched = *data.WatchedSeconds
	}
	return v, true
}

// appliers apply one poll's views for a group in one transaction.
var appliers = map[string]func(context.Context, *sql.DB, string, []view) error{
	"movie-group":     applyMovies,
	"analytics-group": applyAnalytics,
}

// applyMovies is movie-group's read model: the views of each movie.
func applyMovies(ctx context.Context, db *sql.DB, group string, views []view) error {
	anon := isSQLite(db)
	return inTx(ctx, db, func(tx *sql.Tx) error {
		fresh, err := insertInbox(ctx, tx, anon, group, views)
		if err != nil {
			return err
		}
		type count struct{ n, at int64 }
		movies := map[string]count{}
		for _, v := range fresh {
			c := movies[v.movie]
			movies[v.movie] = count{c.n + 1, max(c.at, v.at)}
		}
		for id, c := range movies {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO movies (id, views, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (id) DO UPDATE SET views = movies.views + excluded.views,
					updated_at = CASE WHEN excluded.updated_at > movies.updated_at THEN excluded.updated_at ELSE movies.updated_at END`,
				id, c.n, c.at); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyAnalytics is analytics-group's read models, as Reelay's RecordView
// keeps them, batched: the raw views, the unique viewers, each movie's views,
// unique viewers, watched seconds and last view, each user's views.
func applyAnalytics(ctx context.Context, db *sql.DB, group string, views []view) error {
	anon := isSQLite(db)
	return inTx(ctx, db, func(tx *sql.Tx) error {
		fresh, err := insertInbox(ctx, tx, anon, group, views)
		if err != nil {
			return err
		}
		if err := insertRows(ctx, tx, anon, `INSERT INTO views (event_id, movie_id, user_id, watched_seconds, viewed_at) VALUES `, 5, len(fresh),
			func(i int) []any { v := fresh[i]; return []any{v.id, v.movie, v.user, v.watched, v.at} }, nil); err != nil {
			return err
		}
		type pair struct{ movie, user string }
		var pairs []pair
		seen := map[pair]bool{}
		type stats struct{ views, viewers, watched, at int64 }
		movies := map[string]*stats{}
		users := map[string]int64{}
		for _, v := range fresh {
			if p := (pair{v.movie, v.user}); !seen[p] {
				seen[p] = true
				pairs = append(pairs, p)
			}
			s := movies[v.movie]
			if s == nil {
				s = &stats{}
				movies[v.movie] = s
			}
			s.views++
			s.watched += v.watched
			s.at = max(s.at, v.at)
			users[v.user]++
		}
		if err := insertRows(ctx, tx, anon, `INSERT INTO movie_viewers (movie_id, user_id) VALUES `, 2, len(pairs),
			func(i int) []any { return []any{pairs[i].movie, pairs[i].user} },
			func(rows *sql.Rows) error {
				var movie string
				if err := rows.Scan(&movie); err != nil {
					return err
				}
				movies[movie].viewers++
				return nil
			}, ` ON CONFLICT DO NOTHING RETURNING movie_id`); err != nil {
			return err
		}
		for id, s := range movies {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO movie_stats (movie_id, views, unique_viewers, watched_seconds, last_viewed_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (movie_id) DO UPDATE SET views = movie_stats.views + excluded.views,
					unique_viewers = movie_stats.unique_viewers + excluded.unique_viewers,
					watched_seconds = movie_stats.watched_seconds + excluded.watched_seconds,
					last_viewed_at = CASE WHEN movie_stats.last_viewed_at IS NULL OR excluded.last_viewed_at > movie_stats.last_viewed_at
						THEN excluded.last_viewed_at ELSE movie_stats.last_viewed_at END`,
				id, s.views, s.viewers, s.watched, s.at); err != nil {
				return err
			}
		}
		for id, n := range users {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_stats (user_id, views) VALUES ($1, $2)
				ON CONFLICT (user_id) DO UPDATE SET views = user_stats.views + excluded.views`, id, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertInbox inserts the inbox rows of views in one statement (per 500)
// and returns the views whose row it inserted: those not applied before.
func insertInbox(ctx context.Context, tx *sql.Tx, anon bool, group string, views []view) ([]view, error) {
	byID := make(map[string]view, len(views))
	for _, v := range views {
		byID[v.id] = v
	}
	now := time.Now().UnixMilli()
	fresh := make([]view, 0, len(views))
	err := insertRows(ctx, tx, anon, `INSERT INTO inbox (consumer_group, event_id, processed_at) VALUES `, 3, len(views),
		func(i int) []any { return []any{group, views[i].id, now} },
		func(rows *sql.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			fresh = append(fresh, byID[id])
			return nil
		}, ` ON CONFLICT DO NOTHING RETURNING event_id`)
	return fresh, err
}

// rowsPerStatement bounds a multi-row insert (SQLite allows 32,766
// parameters, PostgreSQL 65,535).
const rowsPerStatement = 500

// insertRows inserts n rows of width columns, args(i) giving row i, in
// multi-row statements of head, the VALUES tuples and tail; scan reads the
// rows a RETURNING tail returns. Its parameters are ? on SQLite (anon), $n
// on PostgreSQL: SQLite looks every $n up in a list of the statement's
// parameters, a cost quadratic in its rows. On SQLite the insert is INSERT
// OR FAIL, as Reelay's (sqlstore's insertInto): no statement journal.
func insertRows(ctx context.Context, tx *sql.Tx, anon bool, head string, width, n int, args func(int) []any, scan func(*sql.Rows) error, tail ...string) error {
	if anon {
		head = strings.Replace(head, "INSERT INTO", "INSERT OR FAIL INTO", 1)
	}
	for from := 0; from < n; from += rowsPerStatement {
		to := min(n, from+rowsPerStatement)
		var q strings.Builder
		q.WriteString(head)
		params := make([]any, 0, (to-from)*width)
		for i := from; i < to; i++ {
			if i > from {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for c := range width {
				if c > 0 {
					q.WriteByte(',')
				}
				if anon {
					q.WriteByte('?')
				} else {
					fmt.Fprintf(&q, "$%d", len(params)+c+1)
				}
			}
			q.WriteByte(')')
			params = append(params, args(i)...)
		}
		q.WriteString(strings.Join(tail, ""))
		if scan == nil {
			if _, err := tx.ExecContext(ctx, q.String(), params...); err != nil {
				return err
			}
			continue
		}
		rows, err := tx.QueryContext(ctx, q.String(), params...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				_ = rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
