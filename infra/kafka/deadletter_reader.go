package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// leaveTimeout bounds leaving the group at stop.
const leaveTimeout = 3 * time.Second

// DeadLetterReader reads dead-letter topics as one consumer group, from
// their first record, and hands each poll's records to a function. It
// commits a poll's offsets only once the function returned nil, retrying
// the function until then: delivery is at least once, so the function must
// be idempotent (the dead-letter index is: it keys records by position).
type DeadLetterReader struct {
	client *kgo.Client
	logger *slog.Logger
}

// NewDeadLetterReader makes a reader of topics as group, a member the group
// drops after sessionTimeout without heartbeats. Its client starts joining
// the group at once: make it when the reader is to run, and Run it (Run
// closes it).
func NewDeadLetterReader(brokers []string, group string, topics []string, sessionTimeout time.Duration, logger *slog.Logger, opts ...Option) (*DeadLetterReader, error) {
	sec := applyOptions(opts).security
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID("reelay-deadletter-index"),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(sessionTimeout),
		kgo.HeartbeatInterval(sessionTimeout / 10),
		kgo.FetchMaxBytes(16 << 20),
		kgo.WithLogger(kgoLogger{logger}),
	}, sec.kgoOpts()...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka dead-letter reader: %w", err)
	}
	return &DeadLetterReader{client: cl, logger: logger}, nil
}

// Run reads until ctx ends, then leaves the group: what was handled is
// committed already. Leaving takes at most leaveTimeout, so that a stop
// does not wait for a rebalance (one held up by a member that died, say).
func (r *DeadLetterReader) Run(ctx context.Context, handle func(context.Context, []*kgo.Record) error) {
	defer func() {
		leave, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		_ = r.client.LeaveGroupContext(leave)
		r.client.Close()
	}()
	for ctx.Err() == nil {
		fetches := r.client.PollRecords(ctx, 500)
		if ctx.Err() != nil {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			r.logger.Warn("reading dead letters", "topic", topic, "partition", partition, "err", err)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		for wait := 500 * time.Millisecond; ; wait = min(2*wait, 30*time.Second) {
			err := handle(ctx, recs)
			if err == nil {
				break
			}
			r.logger.Warn("indexing dead letters; retrying", "records", len(recs), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if err := r.client.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
			r.logger.Warn("committing indexed dead letters", "err", err)
		}
	}
}
