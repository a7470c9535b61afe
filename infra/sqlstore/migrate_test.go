package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrationChangedStopsOpen: once a migration is applied, a database
// whose record of it has another checksum (the file was edited after it was
// applied) refuses to open, naming the migration; a record without a
// checksum (applied before checksums) is filled in and opens.
func TestMigrationChangedStopsOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	urls := map[string]string{"sqlite": filepath.Join(t.TempDir(), "reelay.db")}
	if pg := os.Getenv("REELAY_TEST_DATABASE_URL"); pg != "" {
		u, err := IsolatedSchema(ctx, pg, t.Name())
		if err != nil {
			t.Fatal(err)
		}
		urls["postgres"] = u
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			set := func(checksum any) {
				t.Helper()
				db, err := Open(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = db.Close() }()
				if _, err := db.write.ExecContext(ctx, `UPDATE schema_migrations SET checksum = $1 WHERE name = 'migrations/0001_init.sql'`, checksum); err != nil {
					t.Fatal(err)
				}
			}
			set(nil) // as recorded before checksums
			set("0000")
			_, err := Open(ctx, url)
			if !errors.Is(err, ErrMigrationChanged) || !strings.Contains(err.Error(), "0001_init.sql") {
				t.Fatalf("open with a changed migration: %v, want ErrMigrationChanged naming 0001_init.sql", err)
			}
		})
	}
}
