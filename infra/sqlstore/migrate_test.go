package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/infra/sqlstore/sqlstoretest"
)

// TestMigrationChangedStopsOpen: once a migration is applied, a database
// whose record of it has another checksum (the file was edited after it was
// applied) refuses to open, naming the migration; a record without a
// checksum (applied before checksums) is filled in and opens.
func TestMigrationChangedStopsOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	urls := map[string]string{"sqlite": filepath.Join(t.TempDir(), "reelay.db")}
	drivers := map[string]string{"sqlite": "sqlite", "postgres": "pgx"}
	if pg := os.Getenv("REELAY_TEST_DATABASE_URL"); pg != "" {
		u, err := sqlstoretest.IsolatedSchema(ctx, pg, t.Name())
		if err != nil {
			t.Fatal(err)
		}
		urls["postgres"] = u
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			set := func(checksum any) {
				t.Helper()
				db, err := sqlstore.Open(ctx, url) // applies (and checks) the migrations
				if err != nil {
					t.Fatal(err)
				}
				_ = db.Close()
				raw, err := sql.Open(drivers[name], url)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = raw.Close() }()
				if _, err := raw.ExecContext(ctx, `UPDATE schema_migrations SET checksum = $1 WHERE name = 'migrations/0001_init.sql'`, checksum); err != nil {
					t.Fatal(err)
				}
			}
			set(nil) // as recorded before checksums
			set("0000")
			_, err := sqlstore.Open(ctx, url)
			if !errors.Is(err, sqlstore.ErrMigrationChanged) || !strings.Contains(err.Error(), "0001_init.sql") {
				t.Fatalf("open with a changed migration: %v, want ErrMigrationChanged naming 0001_init.sql", err)
			}
		})
	}
}
