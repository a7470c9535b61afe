package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// stmtCache holds prepared write statements. SQLite's parser is a measurable
// share of a handler's time; a prepared statement skips it. A statement is
// prepared after the first transaction that used it has ended: the SQLite
// write pool has a single connection, which that transaction holds.
type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]struct{}
	closed  bool
}

// lookup returns the prepared statement, or nil and notes the query for preparing.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s
	}
	if c.pending == nil {
		c.pending = map[string]struct{}{}
	}
	c.pending[query] = struct{}{}
	return nil
}

// prepare prepares the noted queries; call it with no transaction open. It
// does not hold the lock while preparing, which waits for the connection.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	c.mu.Unlock()
	for _, q := range queries {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue // the query keeps running unprepared
		}
		c.mu.Lock()
		if _, dup := c.stmts[q]; dup || c.stmts == nil && c.closed {
			_ = s.Close()
		} else {
			if c.stmts == nil {
				c.stmts = map[string]*sql.Stmt{}
			}
			c.stmts[q] = s
		}
		delete(c.pending, q)
		c.mu.Unlock()
	}
}

func (c *stmtCache) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		_ = s.Close()
	}
	c.stmts, c.closed = nil, true
}

// writeTx is an event's transaction; it runs prepared statements when the cache has them.
type writeTx struct {
	tx *sql.Tx
	db *DB
	// shared is set in a group-committed SQLite transaction. Its statements
	// must not be interrupted by the event's context: SQLite rolls back the
	// whole transaction, other events' savepoints included, when a write is
	// interrupted. A cancelled context still stops the next statement.
	shared bool
}

func (w writeTx) context(ctx context.Context) (context.Context, error) {
	if !w.shared {
		return ctx, nil
	}
	return context.WithoutCancel(ctx), ctx.Err()
}

// ExecContext runs query in the transaction.
func (w writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, err := w.context(ctx)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	if s := w.db.stmts.lookup(query); s != nil {
		res, err = w.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	} else {
		res, err = w.tx.ExecContext(ctx, query, args...)
	}
	return res, operation(query, err)
}

// QueryRowContext runs query in the transaction.
func (w writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx, _ = w.context(ctx) // a cancelled event fails at its next Exec
	if s := w.db.stmts.lookup(query); s != nil {
		return w.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return w.tx.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows in the transaction. Its
// statements vary with their number of rows and are not prepared.
func (w writeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, err := w.context(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := w.tx.QueryContext(ctx, query, w.varied(args)...)
	return rows, operation(query, err)
}

// ExecVaried runs a statement whose text varies with its number of rows: it
// is not prepared (see varied), so the caches stay bounded.
func (w writeTx) ExecVaried(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, err := w.context(ctx)
	if err != nil {
		return nil, err
	}
	res, err := w.tx.ExecContext(ctx, query, w.varied(args)...)
	return res, operation(query, err)
}

// varied returns the arguments of a statement whose text varies with its
// number of rows. On PostgreSQL they are led by pgx.QueryExecModeExec: the
// statement goes in one round trip, unnamed, instead of pgx's default of
// preparing each new text on the connection first (a second round trip,
// a server-side statement per row count, and a cache that churns).
func (w writeTx) varied(args []any) []any {
	if !w.db.postgres {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// operation names the statement that failed by its first words ("INSERT
// INTO movie_stats", "UPDATE movies"), so that a dead-letter record's
// error says which write of a handler failed; err stays unwrappable.
func operation(query string, err error) error {
	if err == nil {
		return nil
	}
	words := strings.Fields(query)
	n := 2
	if len(words) > 0 && (strings.EqualFold(words[0], "INSERT") || strings.EqualFold(words[0], "DELETE")) {
		n = 3 // INSERT INTO t, DELETE FROM t
	}
	return fmt.Errorf("%s: %w", strings.Join(words[:min(n, len(words))], " "), err)
}
