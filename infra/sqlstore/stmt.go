package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"math/bits"
	"strings"
	"sync"
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

// QueryContext runs a query that returns rows in the transaction.
func (w writeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, err := w.context(ctx)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if s := w.db.stmts.lookup(query); s != nil {
		rows, err = w.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	} else {
		rows, err = w.tx.QueryContext(ctx, query, args...)
	}
	return rows, operation(query, err)
}

// maxChunkRows bounds the rows of one multi-row statement: SQLite takes at
// most 32,766 parameters in one, and a row has up to five.
const maxChunkRows = 512

// execRows writes the rows of cols (see rows) with head + source + tail,
// in chunks (chunkBounds); a statement's text is one of a few, so each is
// prepared once. With scan, the statement returns rows (RETURNING), and
// scan reads each.
func (w writeTx) execRows(ctx context.Context, head, tail string, scan func(*sql.Rows) error, cols ...any) error {
	for from, to := range chunkBounds(rowCount(cols), w.db.postgres) {
		source, args := w.rows(chunkOf(cols, from, to)...)
		query := head + " " + source + tail
		if scan == nil {
			if _, err := w.ExecContext(ctx, query, args...); err != nil {
				return err
			}
			continue
		}
		rows, err := w.QueryContext(ctx, query, args...)
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
	}
	return nil
}

// chunkBounds splits n rows into the [from, to) ranges of one statement
// each, in order. On SQLite, whose statement text has a VALUES row per row,
// each range holds a power of two of rows, at most maxChunkRows, so that a
// statement takes one of ten texts and the statement cache holds them (a
// text per batch size was parsed anew for every batch: 7 % of the CPU in a
// drain). On PostgreSQL, whose text does not vary (unnest), ranges of
// maxChunkRows.
func chunkBounds(n int, postgres bool) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for from := 0; from < n; {
			size := min(n-from, maxChunkRows)
			if !postgres {
				size = 1 << (bits.Len(uint(size)) - 1) // the largest power of two not above it
			}
			if !yield(from, from+size) {
				return
			}
			from += size
		}
	}
}

// rowCount is the number of rows of cols.
func rowCount(cols []any) int {
	for _, c := range cols {
		if _, ok := c.(same); !ok {
			return columnLen(c)
		}
	}
	panic("sqlstore: rows without a column of rows")
}

// chunkOf is cols cut to the rows [from, to).
func chunkOf(cols []any, from, to int) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		switch c := c.(type) {
		case same:
			out[i] = c
		case []string:
			out[i] = c[from:to]
		case []int64:
			out[i] = c[from:to]
		default:
			panic(fmt.Sprintf("sqlstore: a column of %T", c))
		}
	}
	return out
}

// insertInto is the head of a multi-row insert into table. On SQLite it is
// INSERT OR FAIL INTO: a failing row stops the statement without undoing its
// earlier rows, so SQLite keeps no statement journal (a copy of every page
// the statement changes, 3 % of Reelay's CPU in the SQLite drain of both
// groups). What a failed statement leaves is undone with the rest, since a
// unit rolls back whole on any error. On PostgreSQL it is INSERT INTO.
func (w writeTx) insertInto(table string) string {
	if w.db.postgres {
		return "INSERT INTO " + table
	}
	return "INSERT OR FAIL INTO " + table
}

// rows is the source of a multi-row write's rows, whose parameters are the
// statement's only ones. cols are the columns, each a []string or []int64,
// all of one length, or a same value for every row. Rows keep their order.
//
// On PostgreSQL each column is one array parameter, unnested (a same value
// is one parameter), so that the statement's text does not vary with its
// number of rows and pgx prepares it once per connection: a VALUES list of a
// few hundred rows was parsed and planned anew for every batch.
//
// On SQLite it is a VALUES list of anonymous parameters (?), a same value
// repeated in every row. SQLite looks a named or numbered parameter ($n,
// ?n) up in a list of the statement's parameters, when parsing it and again
// when the driver binds it, so a list of them cost time quadratic in the
// batch: a quarter of Reelay's CPU in a drain of both groups. An anonymous
// parameter is never looked up.
func (w writeTx) rows(cols ...any) (source string, args []any) {
	if w.db.postgres {
		return unnestRows(cols)
	}
	return valuesRows(cols)
}

// unnestRows is rows on PostgreSQL: SELECT $1::text, u.c1, … FROM
// unnest($2::text[], …) AS u(c1, …), one parameter per column in order.
func unnestRows(cols []any) (string, []any) {
	var sel, arrays, names []string
	args := make([]any, len(cols))
	for i, c := range cols {
		p := 1 + i
		args[i] = c
		if v, ok := c.(same); ok {
			sel = append(sel, fmt.Sprintf("$%d::%s", p, sqlType(v.v)))
			args[i] = v.v
			continue
		}
		sel = append(sel, fmt.Sprintf("u.c%d", i))
		arrays = append(arrays, fmt.Sprintf("$%d::%s[]", p, sqlType(c)))
		names = append(names, fmt.Sprintf("c%d", i))
	}
	if len(arrays) == 0 {
		panic("sqlstore: rows without a column of rows")
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM unnest(" + strings.Join(arrays, ", ") +
		") AS u(" + strings.Join(names, ", ") + ")", args
}

// valuesRows is rows on SQLite: VALUES (?, ?, ?), (?, ?, ?), …, the
// arguments row by row.
func valuesRows(cols []any) (string, []any) {
	n := rowCount(cols)
	row := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	var b strings.Builder
	b.Grow(len("VALUES ") + n*(len(row)+2))
	b.WriteString("VALUES ")
	args := make([]any, 0, n*len(cols))
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		for _, c := range cols {
			switch c := c.(type) {
			case same:
				args = append(args, c.v)
			case []string:
				args = append(args, c[r])
			case []int64:
				args = append(args, c[r])
			default:
				panic(fmt.Sprintf("sqlstore: a column of %T", c))
			}
		}
	}
	return b.String(), args
}

// same is a column of rows whose every row holds v (a string or an int64).
type same struct{ v any }

func columnLen(c any) int {
	switch c := c.(type) {
	case []string:
		return len(c)
	case []int64:
		return len(c)
	}
	panic(fmt.Sprintf("sqlstore: a column of %T", c))
}

// sqlType is PostgreSQL's type of a column's values.
func sqlType(v any) string {
	switch v.(type) {
	case string, []string:
		return "text"
	case int64, []int64:
		return "bigint"
	}
	panic(fmt.Sprintf("sqlstore: a value of %T", v))
}

// operation names the statement that failed by its first words ("INSERT
// INTO movie_stats", "UPDATE movies"; SQLite's INSERT OR FAIL INTO reads as
// INSERT INTO), so that a dead-letter record's error says which write of a
// handler failed, in the same words on both databases; err stays
// unwrappable.
func operation(query string, err error) error {
	if err == nil {
		return nil
	}
	words := strings.Fields(query)
	if len(words) > 3 && strings.EqualFold(words[1], "OR") {
		words = append(words[:1:1], words[3:]...) // INSERT OR FAIL INTO t: as on PostgreSQL
	}
	n := 2
	if len(words) > 0 && (strings.EqualFold(words[0], "INSERT") || strings.EqualFold(words[0], "DELETE")) {
		n = 3 // INSERT INTO t, DELETE FROM t
	}
	return fmt.Errorf("%s: %w", strings.Join(words[:min(n, len(words))], " "), err)
}
