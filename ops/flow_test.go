package ops_test

import (
	"slices"
	"testing"
	"time"

	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/ops"
)

// TestFlowRatesAndTotals: rates are the counters' differences per second
// between samples, totals are the counters now, and only the last 300
// intervals are kept.
func TestFlowRatesAndTotals(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics()
	f := ops.NewFlowMonitor(ops.FlowCounters{Events: m.Events, Retries: m.Retries, Published: m.Published})
	clock := time.Unix(1_000_000, 0)
	f.SetClock(func() time.Time { return clock })

	if got := f.Flow(); len(got.Times) != 0 || len(got.Topics) != 0 || len(got.Groups) != 0 {
		t.Fatalf("before any sample: %+v", got)
	}
	f.Sample()
	const samples = 310
	for i := range samples {
		clock = clock.Add(2 * time.Second)
		m.Published.WithLabelValues("movie-views", "ok").Add(float64(10 * (i + 1)))
		m.Events.WithLabelValues("movie-group", "movie:movie-views", "applied").Add(4)
		m.Events.WithLabelValues("movie-group", "movie:movie-views", "dead_lettered").Add(2)
		f.Sample()
	}
	m.Published.WithLabelValues("movie-views", "error").Inc()
	m.Retries.WithLabelValues("movie-group", "movie:movie-views").Add(5)

	got := f.Flow()
	if len(got.Times) != 300 || !got.Times[299].Equal(clock) || !got.Times[0].Equal(clock.Add(-299*2*time.Second)) {
		t.Fatalf("%d times from %v to %v, want the last 300 ending %v", len(got.Times), got.Times[0], got.Times[len(got.Times)-1], clock)
	}
	if len(got.Topics) != 1 {
		t.Fatalf("topics %+v", got.Topics)
	}
	tf := got.Topics[0]
	if tf.Topic != "movie-views" || tf.Published != 10*samples*(samples+1)/2 || tf.Failed != 1 || len(tf.PerSecond) != 300 {
		t.Fatalf("topic %s: published %d, failed %d, %d rates", tf.Topic, tf.Published, tf.Failed, len(tf.PerSecond))
	}
	if last := tf.PerSecond[len(tf.PerSecond)-2:]; !slices.Equal(last, []float64{5 * (samples - 1), 5 * samples}) {
		t.Fatalf("last rates %v", last)
	}
	if len(got.Groups) != 1 {
		t.Fatalf("groups %+v", got.Groups)
	}
	g := got.Groups[0]
	if g.Group != "movie-group" || g.Outcomes["applied"] != 4*samples || g.Outcomes["dead_lettered"] != 2*samples || g.Retried != 5 ||
		g.ConsumedPerSecond[0] != 3 || g.AppliedPerSecond[299] != 2 {
		t.Fatalf("group %s: outcomes %v, retried %d, consumed/s from %v, applied/s to %v", g.Group, g.Outcomes, g.Retried, g.ConsumedPerSecond[0], g.AppliedPerSecond[299])
	}
	if len(g.Handlers) != 1 || g.Handlers[0].Handler != "movie:movie-views" || g.Handlers[0].Outcomes["applied"] != 4*samples || g.Handlers[0].Retried != 5 {
		t.Fatalf("handlers %+v", g.Handlers)
	}
}
