package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"github.com/reelay/reelay/config"
)

// openPostgres opens one pool for reads and writes: PostgreSQL has no single-writer limit.
func openPostgres(url string) (*DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(20)
	// Keep them: database/sql keeps 2 idle by default and closes the
	// rest, so each burst of more than 2 concurrent transactions made
	// PostgreSQL start a backend and pgx prepare every statement again.
	// Idle ones close after a few minutes, so a quiet instance holds none.
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{write: db, read: db, postgres: true}, nil
}

// openError says which database failed to open without its secrets: a
// PostgreSQL URL shows as scheme and host, and pgx's own text, which quotes
// the connection string or its user and database, is left out.
func openError(url string, err error) error {
	if !isPostgres(url) {
		return fmt.Errorf("database %s: %w", url, err)
	}
	var (
		parse   *pgconn.ParseConfigError
		connect *pgconn.ConnectError
	)
	switch {
	case errors.As(err, &parse):
		err = errors.New("the URL cannot be parsed")
	case errors.As(err, &connect):
		err = errors.Unwrap(connect)
	}
	return fmt.Errorf("database %s: %w", config.RedactURL(url), err)
}
