package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reelay/reelay/infra/sqlstore"
)

// TestIdempotencyKeys is the contract of the Idempotency-Key store: one
// holder per key, the answer kept for the same fingerprint, other bodies
// told apart, leases that end, releases and expiry.
func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	const (
		long = time.Minute
		day  = 24 * time.Hour
	)
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		claim := func(key, fp string, lease, ttl time.Duration) bool {
			t.Helper()
			ok, err := db.ClaimIdempotencyKey(ctx, key, fp, lease, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		stored := func(key string) (string, int, string) {
			t.Helper()
			fp, status, body, err := db.IdempotencyKey(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return fp, status, string(body)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}

		t.Run("claim then replay the answer", func(t *testing.T) {
			if !claim("k1", "fpA", long, day) {
				t.Fatal("a new key must be claimed")
			}
			if fp, status, _ := stored("k1"); fp != "fpA" || status != 0 {
				t.Fatalf("in flight: fp=%q status=%d", fp, status)
			}
			if claim("k1", "fpA", long, day) {
				t.Fatal("a key in flight must not be claimed twice")
			}
			if claim("k1", "fpB", long, day) {
				t.Fatal("a key in flight must not be claimed by another body")
			}
			must(db.CompleteIdempotencyKey(ctx, "k1", "fpA", 202, []byte(`{"eventId":"e1"}`)))
			if fp, status, body := stored("k1"); fp != "fpA" || status != 202 || body != `{"eventId":"e1"}` {
				t.Fatalf("done: fp=%q status=%d body=%s", fp, status, body)
			}
			if claim("k1", "fpA", long, day) || claim("k1", "fpB", long, day) {
				t.Fatal("a done key must not be claimed again before it expires")
			}
			if fp, status, _ := stored("k1"); fp != "fpA" || status != 202 {
				t.Fatalf("a refused claim changed the key: fp=%q status=%d", fp, status)
			}
		})

		t.Run("one holder among concurrent claims", func(t *testing.T) {
			results := make(chan bool, 8)
			for range cap(results) {
				go func() {
					ok, err := db.ClaimIdempotencyKey(ctx, "k0", "fpA", long, day)
					results <- ok && err == nil
				}()
			}
			won := 0
			for range cap(results) {
				if <-results {
					won++
				}
			}
			if won != 1 {
				t.Fatalf("%d concurrent claims won, want 1", won)
			}
		})

		t.Run("a lease that ran out is taken over by the same request only", func(t *testing.T) {
			if !claim("k2", "fpA", time.Millisecond, day) {
				t.Fatal("a new key must be claimed")
			}
			untilNil(t, func() error {
				if claim("k2", "fpB", long, day) {
					t.Fatal("another body took over a lapsed claim")
				}
				if !claim("k2", "fpA", long, day) {
					return errors.New("lapsed claim not taken over yet")
				}
				return nil
			})
			if claim("k2", "fpA", long, day) {
				t.Fatal("a taken-over claim must be in flight again")
			}
		})

		t.Run("release after a failure", func(t *testing.T) {
			if !claim("k3", "fpA", long, day) {
				t.Fatal("a new key must be claimed")
			}
			must(db.ReleaseIdempotencyKey(ctx, "k3", "fpA"))
			if claim("k3", "fpB", long, day) {
				t.Fatal("a released key must keep its fingerprint")
			}
			if !claim("k3", "fpA", long, day) {
				t.Fatal("the same request must claim a released key at once")
			}
			must(db.CompleteIdempotencyKey(ctx, "k3", "fpA", 202, []byte(`{}`)))
			must(db.ReleaseIdempotencyKey(ctx, "k3", "fpA"))
			if claim("k3", "fpA", long, day) {
				t.Fatal("a release must not undo a stored answer")
			}
		})

		t.Run("forget a refused request", func(t *testing.T) {
			if !claim("k4", "fpA", long, day) {
				t.Fatal("a new key must be claimed")
			}
			must(db.ForgetIdempotencyKey(ctx, "k4", "fpA"))
			if fp, _, _ := stored("k4"); fp != "" {
				t.Fatalf("forgotten key still stored: %q", fp)
			}
			if !claim("k4", "fpB", long, day) {
				t.Fatal("a forgotten key must be free for any body")
			}
		})

		t.Run("expiry and purge", func(t *testing.T) {
			for _, k := range []string{"x1", "x2", "x3"} {
				if !claim(k, "fpA", time.Millisecond, time.Millisecond) {
					t.Fatal("a new key must be claimed")
				}
				must(db.CompleteIdempotencyKey(ctx, k, "fpA", 202, []byte(`{}`)))
			}
			if !claim("live", "fpA", long, day) {
				t.Fatal("a new key must be claimed")
			}
			untilNil(t, func() error {
				if fp, _, _ := stored("x1"); fp != "" {
					return errors.New("x1 not expired yet")
				}
				return nil
			})
			if !claim("x1", "fpB", long, day) {
				t.Fatal("an expired key must be free for any body")
			}
			var purged int64
			untilNil(t, func() error {
				n, err := db.PurgeIdempotencyKeys(ctx, 1)
				if err != nil {
					return err
				}
				if n > 1 {
					t.Fatalf("purged %d rows, limit 1", n)
				}
				if purged += n; purged < 2 {
					return errors.New("x2 and x3 not purged yet")
				}
				return nil
			})
			if n, err := db.PurgeIdempotencyKeys(ctx, 100); err != nil || n != 0 || purged != 2 {
				t.Fatalf("purged %d then %d (%v), want 2 then 0: only expired keys go", purged, n, err)
			}
			for _, k := range []string{"live", "x1"} {
				if fp, _, _ := stored(k); fp == "" {
					t.Fatalf("live key %s purged", k)
				}
			}
		})
	})
}

// untilNil polls fn until it returns nil, failing at a deadline.
func untilNil(t *testing.T, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
