package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestGroupCommitRollsBackAllWhenASavepointCannot: an event whose own writes
// cannot be rolled back alone (here it released its savepoint itself, so
// ROLLBACK TO fails) must not leave them in the batch: the whole batch
// rolls back, and the event kept before it fails too, to be retried.
func TestGroupCommitRollsBackAllWhenASavepointCannot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLite(t)
	g := db.group
	first, err := g.join(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insertRow(t, first, "kept")
	// One event waiting, as the second would be: the first hands the token
	// on without committing.
	g.waiting.Add(1)
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.leave(true) }()
	second, err := g.join(ctx)
	g.waiting.Add(-1)
	if err != nil {
		t.Fatal(err)
	}
	if second.b != first.b {
		t.Fatal("the second event did not join the first one's batch")
	}
	insertRow(t, second, "failed")
	if _, err := second.b.tx.ExecContext(ctx, "RELEASE "+second.name); err != nil {
		t.Fatal(err)
	}
	if err := second.leave(false); err != nil {
		t.Fatalf("the failed event's own leave: %v", err)
	}
	if err := <-firstDone; err == nil {
		t.Fatal("the kept event was reported committed with a batch that could not roll back the failed one")
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM inbox WHERE consumer_group = 'g'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d inbox rows (%v), want none: the failed event's writes were committed", n, err)
	}
}

// TestGroupCommitFirstEventFailsAlone: the event that begins a transaction
// writes without a savepoint; when it fails, the transaction rolls back and
// the event waiting for the token begins a new one, which commits.
func TestGroupCommitFirstEventFailsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLite(t)
	g := db.group
	first, err := g.join(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.name != "" {
		t.Fatalf("the first event opened savepoint %q", first.name)
	}
	insertRow(t, first, "failed")
	g.waiting.Add(1) // the second event waits for the token
	secondc := make(chan *turn, 1)
	go func() {
		tt, err := g.join(ctx)
		g.waiting.Add(-1)
		if err != nil {
			t.Error(err)
		}
		secondc <- tt
	}()
	if err := first.leave(false); err != nil {
		t.Fatalf("the failed event's own leave: %v", err)
	}
	second := <-secondc
	if second == nil {
		t.FailNow()
	}
	if second.b == first.b || second.name != "" {
		t.Fatal("the second event joined the rolled-back transaction instead of beginning one")
	}
	insertRow(t, second, "kept")
	if err := second.leave(true); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, err := db.read.QueryContext(ctx, `SELECT event_id FROM inbox WHERE consumer_group = 'g' ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != 1 || ids[0] != "kept" {
		t.Fatalf("inbox rows %v, want [kept]", ids)
	}
}

// TestWriterPragmas: the writer keeps savepoint sub-journals in memory and
// checkpoints the WAL every 10,000 pages (writerPragmas); the read pool is
// left at SQLite's defaults.
func TestWriterPragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLite(t)
	for _, c := range []struct {
		pool   *sql.DB
		pragma string
		want   int
	}{
		{db.write, "temp_store", 2}, // 2: MEMORY
		{db.write, "wal_autocheckpoint", 10000},
		{db.write, "synchronous", 1}, // 1: NORMAL
		{db.read, "wal_autocheckpoint", 1000},
	} {
		var got int
		if err := c.pool.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %d, want %d", c.pragma, got, c.want)
		}
	}
}

// openSQLite opens a SQLite store in the test's directory, closed at its end.
func openSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "reelay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// insertRow writes an inbox row of group g in tt's transaction.
func insertRow(t *testing.T, tt *turn, id string) {
	t.Helper()
	if _, err := tt.b.tx.ExecContext(context.Background(), `INSERT INTO inbox (consumer_group, event_id, processed_at) VALUES ('g', $1, 0)`, id); err != nil {
		t.Fatal(err)
	}
}
