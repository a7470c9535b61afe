package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL for the read-model polls
	_ "modernc.org/sqlite"             // SQLite for the read-model polls

	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/infra/sqlstore/sqlstoretest"
)

// database makes a fresh database for one run, a new SQLite file or a new
// PostgreSQL schema, and returns its REELAY_DATABASE_URL. With migrate it
// also creates Reelay's tables, which the baseline writes to; Reelay creates
// them itself at start.
func (h *harness) database(ctx context.Context, kind, name string, migrate bool) (string, error) {
	name = h.tempName(name)
	url := filepath.Join(h.work, name+".db")
	if kind == dbPostgres {
		var err error
		if url, err = sqlstoretest.IsolatedSchema(ctx, h.pgURL, "bench_"+name); err != nil {
			return "", err
		}
	}
	if migrate {
		db, err := sqlstore.Open(ctx, url)
		if err != nil {
			return "", err
		}
		if err := db.Close(); err != nil {
			return "", err
		}
	}
	return url, nil
}

// readModel is the table whose views column counts a group's applied views.
func readModel(group string) string {
	if group == groupAnalytics {
		return "movie_stats"
	}
	return "movies"
}

// readModels polls the views the read models of groups count, from outside
// the contender, as any SQL client would.
type readModels struct {
	url    string
	groups []string
	db     *sql.DB
}

func newReadModels(url string, groups []string) *readModels {
	return &readModels{url: url, groups: groups}
}

// counts returns the views each group's read model counts; 0 while its
// database or table does not exist yet.
func (r *readModels) counts(ctx context.Context) []int64 {
	out := make([]int64, len(r.groups))
	if r.db == nil {
		driver, dsn := "pgx", r.url
		if !strings.Contains(r.url, "://") {
			if _, err := os.Stat(r.url); err != nil {
				return out // not created yet; opening it would create it
			}
			driver, dsn = "sqlite", "file:"+r.url+"?_pragma=busy_timeout(5000)"
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			return out
		}
		db.SetMaxOpenConns(1)
		r.db = db
	}
	for i, g := range r.groups {
		_ = r.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(views), 0) FROM `+readModel(g)).Scan(&out[i])
	}
	return out
}

// atLeast reports whether every count is at least n.
func atLeast(counts []int64, n int64) bool {
	for _, c := range counts {
		if c < n {
			return false
		}
	}
	return true
}

func sum(counts []int64) int64 {
	var s int64
	for _, c := range counts {
		s += c
	}
	return s
}

func (r *readModels) close() {
	if r.db != nil {
		_ = r.db.Close()
	}
}
