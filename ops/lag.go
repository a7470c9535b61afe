package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reelay/reelay/infra/kafka"
)

// Offsets reads committed and end offsets; kafka.Offsets satisfies it.
type Offsets interface {
	GroupLag(ctx context.Context, groups []string) ([]kafka.PartitionLag, error)
}

// PartitionLag is a group's position on one partition. LastProgress is the
// last time the group's committed offset moved, or it was caught up, as
// far as this instance saw (nil before it looked twice); Stuck is true
// while the lag is above zero and nothing was committed for StuckAfter.
type PartitionLag struct {
	Topic        string     `json:"topic"`
	Partition    int32      `json:"partition"`
	Committed    int64      `json:"committed"`
	End          int64      `json:"end"`
	Lag          int64      `json:"lag"`
	LastProgress *time.Time `json:"lastProgress"`
	Stuck        bool       `json:"stuck"`
}

// GroupLag is a group's lag on each of its partitions.
type GroupLag struct {
	Group      string         `json:"group"`
	Lag        int64          `json:"lag"`
	Stuck      bool           `json:"stuck"`
	Partitions []PartitionLag `json:"partitions"`
}

// StuckPartition is a partition that has had lag and no progress for
// StuckAfter.
type StuckPartition struct {
	Group     string
	Topic     string
	Partition int32
	Committed int64
	Lag       int64
	Since     time.Time
}

// LagGauges are the metrics the monitor keeps: lag by group, topic and
// partition; 1 for a partition stuck for no progress (reason
// "no_progress"); unresolved dead letters by group.
type LagGauges struct {
	Lag         *prometheus.GaugeVec // group, topic, partition
	Stuck       *prometheus.GaugeVec // group, topic, partition, reason
	DeadLetters *prometheus.GaugeVec // group
}

// LagMonitor polls the lag of the registered groups and tracks when each
// partition last moved. Every instance runs one: lag is the cluster's,
// whichever instance asks.
type LagMonitor struct {
	offsets    Offsets
	deadLetter *DeadLetters
	groups     []string
	stuckAfter time.Duration
	every      time.Duration
	gauges     LagGauges
	logger     *slog.Logger
	now        func() time.Time

	mu       sync.Mutex
	progress map[partition]progress
	latest   []GroupLag
	err      error
	at       time.Time
}

type partition struct {
	group, topic string
	partition    int32
}

type progress struct {
	committed int64
	at        time.Time
	caughtUp  bool // at the previous poll
	stuck     bool
}

// NewLagMonitor watches groups: a partition is stuck after stuckAfter
// without progress while it has lag. It polls every quarter of stuckAfter,
// between 500 ms and 5 s.
func NewLagMonitor(offsets Offsets, deadLetters *DeadLetters, groups []string, stuckAfter time.Duration, gauges LagGauges, logger *slog.Logger) *LagMonitor {
	return &LagMonitor{offsets: offsets, deadLetter: deadLetters, groups: groups, stuckAfter: stuckAfter,
		every: min(max(stuckAfter/4, 500*time.Millisecond), 5*time.Second), gauges: gauges, logger: logger,
		now: time.Now, progress: map[partition]progress{}}
}

// Run polls until ctx ends.
func (m *LagMonitor) Run(ctx context.Context) {
	t := time.NewTicker(m.every)
	defer t.Stop()
	for {
		m.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Lag returns the latest poll's lag, polling first when it is older than
// two periods.
func (m *LagMonitor) Lag(ctx context.Context) ([]GroupLag, error) {
	m.mu.Lock()
	fresh := m.now().Sub(m.at) < 2*m.every
	latest, err := m.latest, m.err
	m.mu.Unlock()
	if fresh {
		return latest, err
	}
	return m.poll(ctx)
}

// Stuck lists the partitions stuck at the latest poll.
func (m *LagMonitor) Stuck() []StuckPartition {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []StuckPartition
	for _, g := range m.latest {
		for _, p := range g.Partitions {
			if p.Stuck {
				out = append(out, StuckPartition{Group: g.Group, Topic: p.Topic, Partition: p.Partition,
					Committed: p.Committed, Lag: p.Lag, Since: *p.LastProgress})
			}
		}
	}
	return out
}

func (m *LagMonitor) poll(ctx context.Context) ([]GroupLag, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m.refreshDeadLetters(ctx)
	lags, err := m.offsets.GroupLag(ctx, m.groups)
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			m.err = fmt.Errorf("reading consumer group offsets: %w", err)
		}
		return m.latest, m.err
	}
	byGroup := map[string]*GroupLag{}
	out := make([]GroupLag, 0, len(m.groups))
	for _, g := range m.groups {
		out = append(out, GroupLag{Group: g, Partitions: []PartitionLag{}})
	}
	for i := range out {
		byGroup[out[i].Group] = &out[i]
	}
	seen := map[partition]bool{}
	for _, l := range lags {
		g := byGroup[l.Group]
		if g == nil {
			continue
		}
		k := partition{l.Group, l.Topic, l.Partition}
		seen[k] = true
		p, known := m.progress[k]
		// The clock starts at the first poll that sees lag without a
		// commit: when the lag appeared between two polls is not known.
		if !known || p.committed != l.Committed || l.Lag <= 0 || p.caughtUp {
			p.committed, p.at = l.Committed, now
		}
		p.caughtUp = l.Lag <= 0
		stuck := l.Lag > 0 && now.Sub(p.at) >= m.stuckAfter
		if stuck != p.stuck {
			m.logStuck(k, l, stuck, p.at)
		}
		p.stuck = stuck
		m.progress[k] = p
		last := p.at.UTC()
		g.Partitions = append(g.Partitions, PartitionLag{Topic: l.Topic, Partition: l.Partition, Committed: l.Committed,
			End: l.End, Lag: l.Lag, LastProgress: &last, Stuck: stuck})
		g.Lag += max(l.Lag, 0)
		g.Stuck = g.Stuck || stuck
		labels := []string{l.Group, l.Topic, strconv.Itoa(int(l.Partition))}
		m.gauges.Lag.WithLabelValues(labels...).Set(float64(max(l.Lag, 0)))
		m.gauges.Stuck.WithLabelValues(append(labels, "no_progress")...).Set(boolGauge(stuck))
	}
	for k := range m.progress {
		if !seen[k] { // revoked from the group, or the topic is gone
			labels := []string{k.group, k.topic, strconv.Itoa(int(k.partition))}
			m.gauges.Lag.DeleteLabelValues(labels...)
			m.gauges.Stuck.DeleteLabelValues(append(labels, "no_progress")...)
			delete(m.progress, k)
		}
	}
	m.latest, m.err, m.at = out, nil, now
	return out, nil
}

func (m *LagMonitor) logStuck(k partition, l kafka.PartitionLag, stuck bool, since time.Time) {
	if stuck {
		m.logger.Error("partition stuck: it has lag and its group committed nothing for REELAY_STUCK_AFTER",
			"group", k.group, "topic", k.topic, "partition", k.partition, "committed", l.Committed, "lag", l.Lag,
			"since", since.UTC())
		return
	}
	m.logger.Info("partition moves again", "group", k.group, "topic", k.topic, "partition", k.partition,
		"committed", l.Committed, "lag", l.Lag)
}

// refreshDeadLetters sets the dead-letter gauge from the index.
func (m *LagMonitor) refreshDeadLetters(ctx context.Context) {
	if m.deadLetter == nil {
		return
	}
	sums, err := m.deadLetter.Summaries(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.logger.Warn("counting dead letters", "err", err)
		}
		return
	}
	for _, s := range sums {
		m.gauges.DeadLetters.WithLabelValues(s.Group).Set(float64(s.Depth))
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
