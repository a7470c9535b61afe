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
