package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// groupCommit shares one SQLite transaction among events that are ready to
// write at the same time: SQLite has a single writer, and a commit costs more
// than an event's statements. Events take turns holding the transaction (the
// token), each inside its own savepoint, so one event's failure rolls back
// only its own writes; the event that begins the transaction needs none (a
// savepoint copies the old content of every page it changes): when it fails,
// the transaction, which holds its writes only, rolls back. The event that
// hands the token to nobody commits, and every event of the batch learns the
// commit's outcome before Apply returns: an event is reported applied only
// once it is durable.
type groupCommit struct {
	db      *sql.DB
	token   sync.Mutex
	waiting atomic.Int32 // events waiting for the token
	open    *batch       // guarded by token
	maxSize int
}

type batch struct {
	tx         *sql.Tx
	members    int // events kept in the batch
	rolledBack int // events whose savepoint was rolled back
	// broken is why an event's writes could not be rolled back alone: the
	// whole batch then rolls back, and every event kept in it fails.
	broken error
	done   chan struct{}
	err    error
}

// turn is one event's hold of the shared transaction.
type turn struct {
	g    *groupCommit
	b    *batch
	name string // the event's savepoint; empty for the event that began the transaction
}

// join waits for the token and opens the event's savepoint, beginning a
// batch if none is open.
func (g *groupCommit) join(ctx context.Context) (*turn, error) {
	g.waiting.Add(1)
	g.token.Lock()
	g.waiting.Add(-1)
	if g.open == nil {
		// The batch outlives the event that begins it: no event's context may end it.
		tx, err := g.db.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			g.token.Unlock()
			return nil, fmt.Errorf("begin: %w", err)
		}
		g.open = &batch{tx: tx, done: make(chan struct{})}
		return &turn{g: g, b: g.open}, nil
	}
	t := &turn{g: g, b: g.open, name: fmt.Sprintf("e%d", g.open.members+g.open.rolledBack)}
	if _, err := t.b.tx.ExecContext(ctx, "SAVEPOINT "+t.name); err != nil {
		t.leave(false)
		return nil, err
	}
	return t, nil
}

// leave ends the event's turn: keeps (keep) or rolls back its savepoint,
// hands the token on, and commits the batch when no event waits for the token
// or the batch is full. For a kept event it returns the commit's error.
func (t *turn) leave(keep bool) error {
	g, b := t.g, t.b
	ctx := context.Background()
	var err error
	first := t.name == "" // the transaction holds this event's writes only
	if keep {
		if !first {
			_, err = b.tx.ExecContext(ctx, "RELEASE "+t.name)
		}
		if err == nil {
			b.members++
		}
	}
	if !keep || err != nil {
		if !first {
			if _, rerr := b.tx.ExecContext(ctx, "ROLLBACK TO "+t.name); rerr != nil {
				b.broken = errors.Join(b.broken, fmt.Errorf("rollback to savepoint %s: %w", t.name, rerr))
			} else if _, rerr := b.tx.ExecContext(ctx, "RELEASE "+t.name); rerr != nil {
				b.broken = errors.Join(b.broken, fmt.Errorf("release savepoint %s: %w", t.name, rerr))
			}
		}
		b.rolledBack++
	}
	// A failed first event ends the transaction: rolling it back is how its
	// writes are undone.
	if g.waiting.Load() == 0 || b.members >= g.maxSize || b.broken != nil || first && b.members == 0 {
		g.open = nil
		switch {
		case b.broken != nil:
			_ = b.tx.Rollback()
			b.err = fmt.Errorf("group commit rolled back: %w", b.broken)
		case b.members > 0:
			b.err = b.tx.Commit()
		default:
			_ = b.tx.Rollback()
		}
		close(b.done)
	}
	g.token.Unlock()
	if !keep || err != nil {
		return err
	}
	<-b.done
	return b.err
}
