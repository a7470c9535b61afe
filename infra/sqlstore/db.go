// Package sqlstore keeps Reelay's inbox and read models in SQLite (the
// zero-set-up default, pure Go) or PostgreSQL, with the same SQL.
//
// Writes happen only inside Apply, which runs a handler in one transaction
// together with the inbox row of its event: an event's effect commits exactly
// once per consumer group, however often Kafka delivers it.
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the store. It is safe for concurrent use.
type DB struct {
	// write takes every transaction; for SQLite it holds one connection, the
	// single writer SQLite allows.
	write *sql.DB
	// read serves queries; for SQLite it is a separate pool that WAL mode
	// lets read while the writer writes.
	read *sql.DB
	// stmts caches the write statements of the handlers.
	stmts stmtCache
	// seen asks the inbox, on the read pool, whether an event was applied.
	seen *sql.Stmt
	// group commits SQLite transactions together; nil on PostgreSQL, which
	// runs one transaction per event in parallel.
	group    *groupCommit
	postgres bool
	url      string // as given, for errors (shown redacted)
}

// Open connects to url (a SQLite file path or a postgres:// URL) and applies
// the migrations: New, then Start. Its error shows a PostgreSQL URL's scheme
// and host only: never its credentials, database or parameters.
func Open(ctx context.Context, url string) (*DB, error) {
	db, err := New(url)
	if err != nil {
		return nil, err
	}
	if err := db.Start(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// New prepares the database at url without reaching it: connections are
// made by Start (the application's start hook) and on use.
func New(url string) (*DB, error) {
	db, err := open(url)
	if err != nil {
		return nil, openError(url, err)
	}
	db.url = url
	return db, nil
}

// Start makes SQLite's directory, applies the migrations (ErrMigrationChanged
// when an applied one was edited) and prepares the statements.
func (db *DB) Start(ctx context.Context) error {
	if err := db.start(ctx); err != nil {
		return openError(db.url, err)
	}
	return nil
}

func (db *DB) start(ctx context.Context) error {
	if !db.postgres {
		if err := os.MkdirAll(filepath.Dir(db.url), 0o755); err != nil {
			return fmt.Errorf("sqlite dir: %w", err)
		}
	}
	if err := db.migrate(ctx); err != nil {
		return err
	}
	seen, err := db.read.PrepareContext(ctx, `SELECT COUNT(*) FROM inbox WHERE consumer_group = $1 AND event_id = $2`)
	if err != nil {
		return err
	}
	db.seen = seen
	return nil
}

// writerPragmas tune the one writer connection for many small transactions
// (a batch's, committed before its events are acked):
//   - temp_store(MEMORY) keeps the sub-journal of each event's savepoint in
//     the shared transaction (groupCommit) in memory; by default a savepoint
//     that changes more than 64 KiB of pages writes their old content to a
//     temporary file;
//   - wal_autocheckpoint(10000) copies the WAL back into the database once
//     it holds 10,000 pages (40 MB) instead of 1,000: a page that small
//     transactions rewrite (an index's upper levels, a hot movie's row) is
//     copied once per checkpoint, not once per 1,000 pages committed.
//
// Both only change when bytes are written, not what a commit makes durable.
// In the SQLite drains of the benchmark they raised Reelay's rate by a
// third and left the hand-written baseline's, which commits whole polls,
// where it was (README, Performance).
const writerPragmas = "&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(10000)"

func open(url string) (*DB, error) {
	if isPostgres(url) {
		return openPostgres(url)
	}
	dsn := "file:" + url + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	write, err := sql.Open("sqlite", dsn+writerPragmas)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4) // keep them: opening a SQLite connection costs more than a query
	return &DB{write: write, read: read, group: &groupCommit{db: write, maxSize: 64}}, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// Close closes both pools.
func (db *DB) Close() error {
	db.stmts.close()
	if db.seen != nil {
		_ = db.seen.Close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// ErrMigrationChanged is returned by Open when an applied migration's file
// no longer has the content that was applied: the schema would silently
// differ from what the code expects.
var ErrMigrationChanged = errors.New("migration changed")

// migrate applies, in name order, every migration not yet recorded, and
// records each one's SHA-256; an applied migration whose content changed
// stops it (ErrMigrationChanged). On PostgreSQL an advisory lock makes
// instances that start together take turns.
func (db *DB) migrate(ctx context.Context) error {
	if db.postgres {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7260414)`); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7260414)`) }()
	}
	if _, err := db.write.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL, checksum TEXT)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	// A table made before checksums were recorded lacks the column.
	if _, err := db.write.ExecContext(ctx, `SELECT checksum FROM schema_migrations WHERE 1 = 0`); err != nil {
		if _, err := db.write.ExecContext(ctx, `ALTER TABLE schema_migrations ADD COLUMN checksum TEXT`); err != nil {
			return fmt.Errorf("migrations table: add checksum: %w", err)
		}
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateOne(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateOne(ctx context.Context, name string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	sum := fmt.Sprintf("%x", sha256.Sum256(body))
	var applied sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT checksum FROM schema_migrations WHERE name = $1`, name).Scan(&applied)
	switch {
	case err == nil && !applied.Valid:
		// Applied before checksums were recorded: this content is the one.
		if _, err := tx.ExecContext(ctx, `UPDATE schema_migrations SET checksum = $1 WHERE name = $2`, sum, name); err != nil {
			return err
		}
		return tx.Commit()
	case err == nil && applied.String != sum:
		return fmt.Errorf("%w: its content changed after it was applied (checksum %.12s, applied %.12s); add a new migration instead of editing this one",
			ErrMigrationChanged, sum, applied.String)
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	for _, stmt := range strings.Split(string(body), ";") {
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at, checksum) VALUES ($1, $2, $3)`,
		name, millis(time.Now()), sum); err != nil {
		return err
	}
	return tx.Commit()
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
