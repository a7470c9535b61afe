package sqlstore

import (
	"errors"
	"reflect"
	"testing"
)

// TestRowsSource pins the text and arguments of a multi-row write on both
// databases, with a column every row shares: one array parameter per column
// on PostgreSQL (a text that does not vary with the rows), numbered VALUES
// on SQLite, and a same value bound once on both.
func TestRowsSource(t *testing.T) {
	ids := []string{"a", "b"}
	cases := []struct {
		name     string
		postgres bool
		source   string
		args     []any
	}{
		{"postgres", true, "SELECT $1::text, u.c1, $3::bigint FROM unnest($2::text[]) AS u(c1)",
			[]any{"g", ids, int64(7)}},
		{"sqlite", false, "VALUES (?, ?, ?), (?, ?, ?)",
			[]any{"g", "a", int64(7), "g", "b", int64(7)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			source, args := writeTx{db: &DB{postgres: c.postgres}}.rows(same{"g"}, ids, same{int64(7)})
			if source != c.source || !reflect.DeepEqual(args, c.args) {
				t.Fatalf("rows = %q %v; want %q %v", source, args, c.source, c.args)
			}
		})
	}
}

// TestChunkBounds: on SQLite a multi-row write goes in statements of a
// power of two of rows, at most 512, so that its texts are few; on
// PostgreSQL in statements of up to 512 rows. Both cover every row once,
// in order.
func TestChunkBounds(t *testing.T) {
	for _, c := range []struct {
		n        int
		postgres bool
		want     [][2]int
	}{
		{0, false, nil},
		{1, false, [][2]int{{0, 1}}},
		{167, false, [][2]int{{0, 128}, {128, 160}, {160, 164}, {164, 166}, {166, 167}}},
		{1300, false, [][2]int{{0, 512}, {512, 1024}, {1024, 1280}, {1280, 1296}, {1296, 1300}}},
		{167, true, [][2]int{{0, 167}}},
		{1300, true, [][2]int{{0, 512}, {512, 1024}, {1024, 1300}}},
	} {
		var got [][2]int
		for from, to := range chunkBounds(c.n, c.postgres) {
			got = append(got, [2]int{from, to})
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("chunkBounds(%d, postgres=%v) = %v, want %v", c.n, c.postgres, got, c.want)
		}
	}
	texts := map[int]bool{}
	for n := 1; n <= 3000; n++ {
		for from, to := range chunkBounds(n, false) {
			texts[to-from] = true
		}
	}
	if len(texts) != 10 {
		t.Fatalf("batches of 1 to 3000 rows take statements of %d sizes, want 10 (1, 2, 4, … 512)", len(texts))
	}
}

// TestRowsRefusesAnUnknownColumn: a column of a type rows cannot bind is a
// programming error that panics on both databases, never a statement with
// fewer arguments than placeholders.
func TestRowsRefusesAnUnknownColumn(t *testing.T) {
	for _, postgres := range []bool{true, false} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("postgres=%v: rows of a []float64 column did not panic", postgres)
				}
			}()
			writeTx{db: &DB{postgres: postgres}}.rows([]string{"a"}, []float64{1})
		}()
	}
}

// TestInsertIntoAndItsOperation: a multi-row insert is INSERT OR FAIL INTO on
// SQLite (no statement journal) and INSERT INTO on PostgreSQL, and the error
// of either says INSERT INTO and its table.
func TestInsertIntoAndItsOperation(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		postgres   bool
		head, want string
	}{
		{false, "INSERT OR FAIL INTO views", "INSERT INTO views: boom"},
		{true, "INSERT INTO views", "INSERT INTO views: boom"},
	} {
		head := writeTx{db: &DB{postgres: c.postgres}}.insertInto("views")
		if head != c.head {
			t.Errorf("postgres=%v: insertInto = %q, want %q", c.postgres, head, c.head)
		}
		if err := operation(head+" (event_id) VALUES (?)", boom); err.Error() != c.want || !errors.Is(err, boom) {
			t.Errorf("postgres=%v: operation = %v, want %q", c.postgres, err, c.want)
		}
	}
}
