// Package sqlstoretest gives test suites and benchmarks that share one
// PostgreSQL server a schema of their own. It is not for production code.
package sqlstoretest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"github.com/reelay/reelay/infra/sqlstore"
)

var unsafe = regexp.MustCompile(`[^A-Za-z0-9]+`)

// IsolatedSchema creates a fresh PostgreSQL schema named after name inside
// the database at dbURL, dropping what an earlier run left there, and returns
// a URL whose connections use it.
func IsolatedSchema(ctx context.Context, dbURL, name string) (string, error) {
	schema := "t_" + strings.ToLower(unsafe.ReplaceAllString(name, "_"))
	if len(schema) > 60 {
		schema = schema[:60]
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", err
	}
	_, err = admin.ExecContext(ctx, fmt.Sprintf(`DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s`, schema, schema))
	_ = admin.Close()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// OpenIsolated opens (and migrates) a fresh schema made by IsolatedSchema.
func OpenIsolated(ctx context.Context, dbURL, name string) (*sqlstore.DB, error) {
	u, err := IsolatedSchema(ctx, dbURL, name)
	if err != nil {
		return nil, err
	}
	return sqlstore.Open(ctx, u)
}
