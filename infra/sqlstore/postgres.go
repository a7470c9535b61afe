package sqlstore

import (
	"database/sql"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// openPostgres opens one pool for reads and writes: PostgreSQL has no single-writer limit.
func openPostgres(url string) (*DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(20)
	return &DB{write: db, read: db, postgres: true}, nil
}
