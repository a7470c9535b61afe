package telemetry_test

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reelay/reelay/infra/telemetry"
)

// TestSeriesResolvesEachKeyOnce: every increment lands on its labels'
// series, from many goroutines at once, and a key is resolved once after
// it was first stored.
func TestSeriesResolvesEachKeyOnce(t *testing.T) {
	t.Parallel()
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c"}, []string{"route", "status"})
	type key struct {
		route  string
		status int
	}
	var mu sync.Mutex
	resolved := map[key]int{}
	s := telemetry.NewSeries(func(k key) prometheus.Counter {
		mu.Lock()
		resolved[k]++
		mu.Unlock()
		return vec.WithLabelValues(k.route, map[int]string{200: "200", 404: "404"}[k.status])
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				s.Of(key{"/a", 200}).Inc()
				if (g+i)%4 == 0 {
					s.Of(key{"/b", 404}).Inc()
				}
			}
		})
	}
	wg.Wait()
	if got := testutil.ToFloat64(vec.WithLabelValues("/a", "200")); got != 800 {
		t.Fatalf("/a 200: %v, want 800", got)
	}
	if got := testutil.ToFloat64(vec.WithLabelValues("/b", "404")); got != 200 {
		t.Fatalf("/b 404: %v, want 200", got)
	}
	if n := testutil.CollectAndCount(vec); n != 2 {
		t.Fatalf("%d series, want 2", n)
	}
	before := resolved[key{"/a", 200}]
	s.Of(key{"/a", 200}).Inc()
	if resolved[key{"/a", 200}] != before {
		t.Fatal("a stored key was resolved again")
	}
}
