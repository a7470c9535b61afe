package router

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StuckPartition is a partition whose record can be neither applied nor
// dead-lettered: it is redelivered with a backoff, and nothing behind it on
// the partition is applied until it moves.
type StuckPartition struct {
	Group     string    `json:"group"`
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Since     time.Time `json:"since"`
	Failures  int       `json:"failures"`
	Error     string    `json:"error"`
	// Reason is "dead_letter_failed" here; "no_progress" for a partition
	// that has lag and no committed progress (see ops.LagMonitor).
	Reason string    `json:"reason"`
	last   time.Time // the latest failure
}

// staleAfter drops a stuck partition nobody reported for this long: it was
// revoked from this instance (its new owner reports it if it is still
// stuck). It exceeds the longest backoff between two reports (30 s).
const staleAfter = 2 * time.Minute

// stuckReason is the reason label of reelay_partition_stuck, and the
// Reason of a StuckPartition, for a record that cannot be dead-lettered.
const stuckReason = "dead_letter_failed"

type partitionKey struct {
	group, topic string
	partition    int32
}

// stuckPartitions tracks stuck partitions for the metric, the log and
// /readyz. A partition is stuck from its first failed dead-letter publish
// until a record of it is acked, or until it has not been reported for
// staleAfter.
type stuckPartitions struct {
	gauge  *prometheus.GaugeVec
	logger *slog.Logger
	count  atomic.Int32 // len(byKey), read without the lock on every ack
	mu     sync.Mutex
	byKey  map[partitionKey]*StuckPartition
}

func newStuckPartitions(gauge *prometheus.GaugeVec, logger *slog.Logger) *stuckPartitions {
	return &stuckPartitions{gauge: gauge, logger: logger, byKey: map[partitionKey]*StuckPartition{}}
}

// report records a failure of the message in ctx and returns how many in a
// row its partition has had. The first failure at an offset is logged.
func (s *stuckPartitions) report(ctx context.Context, group string, err error) int {
	topic, partition, offset, ok := partitionOf(ctx)
	if !ok {
		return 1
	}
	k := partitionKey{group, topic, partition}
	s.mu.Lock()
	p := s.byKey[k]
	if p == nil || p.Offset != offset {
		if p == nil {
			s.count.Add(1)
		}
		p = &StuckPartition{Group: group, Topic: topic, Partition: partition, Offset: offset, Since: time.Now().UTC(), Reason: stuckReason}
		s.byKey[k] = p
		s.logger.Error("partition stuck: a record can be neither applied nor dead-lettered; redelivering it with backoff",
			"group", group, "topic", topic, "partition", partition, "offset", offset, "err", err)
	}
	p.Failures++
	p.Error = cut(err.Error(), 512)
	p.last = time.Now()
	n := p.Failures
	s.gauge.WithLabelValues(group, topic, strconv.Itoa(int(partition)), stuckReason).Set(1)
	s.pruneLocked()
	s.mu.Unlock()
	return n
}

// pruneLocked drops entries not reported for staleAfter; s.mu is held.
func (s *stuckPartitions) pruneLocked() {
	for k, p := range s.byKey {
		if time.Since(p.last) > staleAfter {
			delete(s.byKey, k)
			s.count.Add(-1)
			s.gauge.WithLabelValues(k.group, k.topic, strconv.Itoa(int(k.partition)), stuckReason).Set(0)
		}
	}
}

// clear marks the partition of the message in ctx as moving again.
func (s *stuckPartitions) clear(ctx context.Context, group string) {
	if s.count.Load() == 0 {
		return
	}
	topic, partition, offset, ok := partitionOf(ctx)
	if !ok {
		return
	}
	k := partitionKey{group, topic, partition}
	s.mu.Lock()
	p, found := s.byKey[k]
	if found {
		delete(s.byKey, k)
		s.count.Add(-1)
		s.gauge.WithLabelValues(group, topic, strconv.Itoa(int(partition)), stuckReason).Set(0)
	}
	s.mu.Unlock()
	if found {
		s.logger.Info("partition moves again", "group", group, "topic", topic, "partition", partition,
			"offset", offset, "stuck_since", p.Since, "failures", p.Failures)
	}
}

// list returns the stuck partitions, sorted.
func (s *stuckPartitions) list() []StuckPartition {
	s.mu.Lock()
	s.pruneLocked()
	out := make([]StuckPartition, 0, len(s.byKey))
	for _, p := range s.byKey {
		out = append(out, *p)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b StuckPartition) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}
