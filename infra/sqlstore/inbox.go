package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// errDuplicate reports that the event's inbox row already exists.
var errDuplicate = errors.New("event already applied")

type unitKey struct{}

// unit is one event's transaction, begun on the first write so that a
// handler may do slow work (a notifier call) before it holds the writer. On
// SQLite it is a savepoint in a group-committed transaction.
type unit struct {
	db             *DB
	group, eventID string
	tx             *sql.Tx
	turn           *turn // SQLite: the event's turn in the shared transaction
}

// open begins the unit's transaction: its savepoint in the shared SQLite
// transaction, or a transaction of its own on PostgreSQL.
func (u *unit) open(ctx context.Context) error {
	if u.db.group != nil {
		t, err := u.db.group.join(ctx)
		if err != nil {
			return err
		}
		u.turn, u.tx = t, t.b.tx
		return nil
	}
	tx, err := u.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	u.tx = tx
	return nil
}

// writer is the unit's transaction for statements.
func (u *unit) writer() writeTx { return writeTx{tx: u.tx, db: u.db, shared: u.turn != nil} }

// begin opens the transaction and claims the inbox row.
func (u *unit) begin(ctx context.Context) (*sql.Tx, error) {
	if u.tx != nil {
		return u.tx, nil
	}
	if err := u.open(ctx); err != nil {
		return nil, err
	}
	res, err := u.writer().ExecContext(ctx,
		`INSERT INTO inbox (consumer_group, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		u.group, u.eventID, millis(time.Now()))
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = errDuplicate
		}
	}
	if err != nil {
		_ = u.finish(false)
		return nil, err
	}
	return u.tx, nil
}

// finish commits (keep) or rolls back the event's writes; a kept event's
// error is the commit's.
func (u *unit) finish(keep bool) error {
	tx, t := u.tx, u.turn
	u.tx, u.turn = nil, nil
	switch {
	case t != nil:
		return t.leave(keep)
	case keep:
		return tx.Commit()
	default:
		return tx.Rollback()
	}
}

// done ends Apply and ApplyBatch; defer it. A panicking handler still gives
// back the shared writer (and panics on); statements noted for preparing are
// prepared once no transaction is open.
func (u *unit) done(ctx context.Context) {
	if r := recover(); r != nil {
		if u.tx != nil {
			_ = u.finish(false)
		}
		panic(r)
	}
	if u.db.stmts.hasPending() {
		u.db.stmts.prepare(ctx, u.db.write)
	}
}

// tx returns the transaction of the event being applied in ctx.
func (db *DB) tx(ctx context.Context) (writeTx, error) {
	u, ok := ctx.Value(unitKey{}).(*unit)
	if !ok || u.db != db {
		return writeTx{}, errors.New("sqlstore: write outside Apply")
	}
	tx, err := u.begin(ctx)
	return writeTx{tx: tx, db: db, shared: u.turn != nil}, err
}

// Applied reports whether the event was applied for group: a look-up on
// the read pool, for handlers that act outside the store before they write.
func (db *DB) Applied(ctx context.Context, group, eventID string) (bool, error) {
	var seen int
	if err := db.seen.QueryRowContext(ctx, group, eventID).Scan(&seen); err != nil {
		return false, fmt.Errorf("inbox: %w", err)
	}
	return seen > 0, nil
}

// Apply runs fn at most once to completion for each (group, eventID): the
// store writes fn makes through ctx commit in one transaction with the
// inbox row. It returns applied=false, and no error, when the event was
// applied before: its inbox row, inserted at fn's first write, conflicts,
// and fn's writes are rolled back (fn has run up to that write; see Applied
// for a look-up beforehand).
// When fn fails nothing is written and the error is returned; a database
// error that no retry can fix is marked events.Permanent (see classify).
func (db *DB) Apply(ctx context.Context, group, eventID string, fn func(ctx context.Context) error) (applied bool, err error) {
	u := &unit{db: db, group: group, eventID: eventID}
	defer u.done(ctx)
	err = fn(context.WithValue(ctx, unitKey{}, u))
	if err == nil && u.tx == nil {
		_, err = u.begin(ctx) // fn wrote nothing: still mark the event done
	}
	if err != nil {
		if u.tx != nil {
			_ = u.finish(false)
		}
		if errors.Is(err, errDuplicate) {
			return false, nil
		}
		return false, classify(err)
	}
	if err := u.finish(true); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// ApplyBatch applies several events of group in one transaction: it inserts
// their inbox rows in one statement and runs fn with the positions (in
// eventIDs) of the events not applied before, in order; it returns those
// positions. Either fn's writes and every new inbox row commit together, or
// nothing does and the error is returned (a database error no retry can fix
// is marked events.Permanent). When every event was applied before, fn is
// not run. An id given twice is applied once, at its first position.
func (db *DB) ApplyBatch(ctx context.Context, group string, eventIDs []string,
	fn func(ctx context.Context, fresh []int) error) (fresh []int, err error) {
	u := &unit{db: db, group: group}
	if err := u.open(ctx); err != nil {
		return nil, err
	}
	defer u.done(ctx)
	fresh, err = u.claimAll(ctx, eventIDs)
	if err == nil && len(fresh) > 0 {
		err = fn(context.WithValue(ctx, unitKey{}, u), fresh)
	}
	if err != nil || len(fresh) == 0 {
		_ = u.finish(false)
		return nil, classify(err)
	}
	if err := u.finish(true); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return fresh, nil
}

// claimAll inserts the inbox rows of eventIDs and returns the positions of
// those it inserted.
func (u *unit) claimAll(ctx context.Context, eventIDs []string) ([]int, error) {
	// In id order, so that two batches holding the same events (after a
	// rebalance) lock their inbox rows in the same order.
	ids := slices.Sorted(slices.Values(eventIDs))
	w := u.writer()
	inserted := make(map[string]bool, len(ids))
	err := w.execRows(ctx, w.insertInto("inbox")+` (consumer_group, event_id, processed_at)`, ` ON CONFLICT DO NOTHING RETURNING event_id`,
		func(rows *sql.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			inserted[id] = true
			return nil
		}, same{u.group}, ids, same{millis(time.Now())})
	if err != nil {
		return nil, err
	}
	var fresh []int
	for i, id := range eventIDs {
		if inserted[id] {
			fresh = append(fresh, i)
			delete(inserted, id) // a repeated id counts at its first position
		}
	}
	return fresh, nil
}
