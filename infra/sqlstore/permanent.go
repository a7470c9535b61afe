package sqlstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/reelay/reelay/events"
)

// SQLite's primary result codes of errors that no retry can fix.
const (
	sqliteTooBig     = 18
	sqliteConstraint = 19
	sqliteMismatch   = 20
	sqliteRange      = 25
)

// classify marks a database error that no retry can fix as permanent
// (events.Permanent), so that the event is dead-lettered at its first
// attempt: on PostgreSQL a data exception (class 22: bad encoding, a value out
// of range, a string too long), an integrity constraint violation (class 23)
// or a program limit (class 54); on SQLite a constraint, a value too big, a
// type mismatch or a bad parameter. Other errors (a lost connection, a lock,
// a serialization failure) stay transient.
func classify(err error) error {
	if err == nil || events.IsPermanent(err) {
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && len(pg.Code) == 5 {
		switch pg.Code[:2] {
		case "22", "23", "54":
			return events.Permanent(err)
		}
		return err
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case sqliteTooBig, sqliteConstraint, sqliteMismatch, sqliteRange:
			return events.Permanent(err)
		}
	}
	return err
}
