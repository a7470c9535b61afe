package sqlstore

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// IsolatedSchema creates a fresh PostgreSQL schema named after name inside
// the database at dbURL, dropping what an earlier run left there, and returns
// a URL whose connections use it. Test suites use it to share one server
// without sharing tables.
func IsolatedSchema(ctx context.Context, dbURL, name string) (string, error) {
	schema := "t_" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(name, "_"))
	if len(schema) > 60 {
		schema = schema[:60]
	}
	admin, err := openPostgres(dbURL)
	if err != nil {
		return "", err
	}
	_, err = admin.write.ExecContext(ctx, fmt.Sprintf(`DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s`, schema, schema))
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

// OpenIsolated opens a fresh schema made by IsolatedSchema.
func OpenIsolated(ctx context.Context, dbURL, name string) (*DB, error) {
	u, err := IsolatedSchema(ctx, dbURL, name)
	if err != nil {
		return nil, err
	}
	return Open(ctx, u)
}
