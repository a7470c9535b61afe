package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole harness in a tiny configuration (embedded broker,
// SQLite, a few thousand events, a second of load, a profile) so that it
// cannot rot: every row must be there with non-zero numbers.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs both binaries for about 15 s")
	}
	cfg := defaultConfig()
	cfg.Matrix = "embedded+sqlite"
	cfg.Duration = time.Second
	cfg.Connections = 4
	cfg.Events = 3000 // enough that a fast drain still spends measurable CPU (10 ms ticks)
	cfg.Rate = 50
	cfg.ProfileDir = t.TempDir()
	cfg.ProfileTime = time.Second
	cfg.Timeout = time.Minute
	cfg.Command = "smoke"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	res, err := run(ctx, cfg, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	table := res.Markdown()
	t.Log("\n" + table)

	var want []string
	for _, w := range []string{"ingest, 4 connections", "drain movie-group", "drain movie-group+analytics-group", "keeps up at 50/s"} {
		want = append(want, w+"/"+reelay, w+"/"+baseline)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, r.Workload+"/"+r.Contender)
		if r.Broker != brokerEmbedded || r.Database != dbSQLite {
			t.Errorf("%s/%s: cell %s+%s", r.Workload, r.Contender, r.Broker, r.Database)
		}
		if r.Err != "" || r.Events <= 0 || r.Rate <= 0 || r.CPUPerEvent <= 0 || r.PeakRSS <= 0 {
			t.Errorf("%s/%s: want non-zero numbers: %+v", r.Workload, r.Contender, r)
		}
		http := !strings.HasPrefix(r.Workload, "drain")
		if http && (r.P50 <= 0 || r.P99 < r.P50) {
			t.Errorf("%s/%s: latencies p50 %s p99 %s", r.Workload, r.Contender, r.P50, r.P99)
		}
		if r.HasLag != strings.HasPrefix(r.Workload, "keeps up") || (r.HasLag && r.Lag <= 0) {
			t.Errorf("%s/%s: lag %v %s", r.Workload, r.Contender, r.HasLag, r.Lag)
		}
		if (r.Contender == reelay) != (r.Ratio > 0) {
			t.Errorf("%s/%s: ratio %.2f", r.Workload, r.Contender, r.Ratio)
		}
		if !strings.Contains(table, "| "+r.Workload+" | embedded | sqlite | "+r.Contender+" | ") {
			t.Errorf("%s/%s: not in the table", r.Workload, r.Contender)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rows:\n got %v\nwant %v", got, want)
	}
	if len(res.Profiles) != 3 {
		t.Fatalf("want a profile of Reelay's ingest and of each of its drains, got %d", len(res.Profiles))
	}
	for _, p := range res.Profiles {
		if !strings.Contains(p.Top, "flat%") || !strings.Contains(p.TopCum, "cum%") {
			t.Errorf("%s: not a pprof top: %q", p.Title, p.Top)
		}
	}
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
