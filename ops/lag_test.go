package ops_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/ops"
)

// scriptedOffsets answers GroupLag with whatever the test set last.
type scriptedOffsets struct{ lags []kafka.PartitionLag }

func (s *scriptedOffsets) GroupLag(context.Context, []string) ([]kafka.PartitionLag, error) {
	return s.lags, nil
}

// TestLagMonitorStuckAfterNoProgress: a partition is stuck once it has had
// lag and no commit for StuckAfter; a commit or being caught up restarts
// the clock; a partition that leaves the group leaves the gauges.
func TestLagMonitorStuckAfterNoProgress(t *testing.T) {
	t.Parallel()
	offsets := &scriptedOffsets{}
	gauges := ops.LagGauges{
		Lag:         prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lag"}, []string{"group", "topic", "partition"}),
		Stuck:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stuck"}, []string{"group", "topic", "partition", "reason"}),
		DeadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dl"}, []string{"group"}),
	}
	m := ops.NewLagMonitor(offsets, nil, []string{"g"}, time.Minute, gauges, slog.New(slog.NewTextHandler(io.Discard, nil)))
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	m.SetClock(func() time.Time { return now })
	ctx := context.Background()
	step := func(committed, end int64, after time.Duration) ops.PartitionLag {
		t.Helper()
		now = now.Add(after)
		offsets.lags = []kafka.PartitionLag{{Group: "g", Topic: "t", Partition: 0, Committed: committed, End: end, Lag: end - committed}}
		groups, err := m.Poll(ctx)
		if err != nil || len(groups) != 1 || len(groups[0].Partitions) != 1 {
			t.Fatalf("%+v %v", groups, err)
		}
		return groups[0].Partitions[0]
	}
	stuckGauge := func() float64 { return testutil.ToFloat64(gauges.Stuck.WithLabelValues("g", "t", "0", "no_progress")) }

	if p := step(5, 5, 0); p.Stuck || p.Lag != 0 {
		t.Fatalf("caught up: %+v", p)
	}
	if p := step(5, 9, 2*time.Minute); p.Stuck { // it was caught up until now
		t.Fatalf("lag appeared just now: %+v", p)
	}
	if p := step(5, 9, 59*time.Second); p.Stuck {
		t.Fatalf("59 s: %+v", p)
	}
	if p := step(5, 9, time.Second); !p.Stuck || stuckGauge() != 1 || len(m.Stuck()) != 1 {
		t.Fatalf("60 s without progress: %+v, gauge %v", p, stuckGauge())
	}
	if p := step(6, 9, time.Second); p.Stuck || stuckGauge() != 0 || len(m.Stuck()) != 0 || !p.LastProgress.Equal(now) {
		t.Fatalf("a commit moved: %+v", p)
	}
	if got := testutil.ToFloat64(gauges.Lag.WithLabelValues("g", "t", "0")); got != 3 {
		t.Fatalf("lag gauge %v", got)
	}
	offsets.lags = nil // revoked, or the topic is gone
	if _, err := m.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(gauges.Lag); n != 0 {
		t.Fatalf("%d lag series left", n)
	}
}
