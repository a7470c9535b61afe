package app

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/ops"
)

// OpsModule is what operators use, through the admin API: the dead-letter
// index (every registered group's dead-letter topic, read as one consumer
// group into the database), replays, discards, and the lag monitor. Every
// instance runs the index reader, the replay sender and the lag monitor:
// they share the work through Kafka's group and the replays' leases.
var OpsModule = fx.Module("ops",
	fx.Provide(
		groups,
		offsets,
		deadLetters,
		replays,
		lagMonitor,
		flowMonitor,
	),
	fx.Invoke(indexDeadLetters),
)

// DeadLetterIndexGroup is the consumer group that reads every dead-letter
// topic into the database's index.
const DeadLetterIndexGroup = "reelay-deadletter-index"

// Groups are the registered consumer groups, from the consumers' value
// group, by name.
type Groups []string

func groups(p struct {
	fx.In
	Consumers []events.Consumer `group:"consumers"`
}) Groups {
	var gs Groups
	for _, c := range p.Consumers {
		gs = append(gs, c.Group)
	}
	slices.Sort(gs) // a value group has no order
	return gs
}

func offsets(lc fx.Lifecycle, b Brokers, sec kafka.Security) (*kafka.Offsets, error) {
	o, err := kafka.NewOffsets(b, kafka.WithSecurity(sec))
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(o.Close))
	return o, nil
}

func deadLetters(db *sqlstore.DB, gs Groups) *ops.DeadLetters { return ops.NewDeadLetters(db, gs) }

func replays(lc fx.Lifecycle, db *sqlstore.DB, pub message.Publisher, gs Groups, cfg config.Config, tp trace.TracerProvider, logger *slog.Logger) (*ops.Replays, error) {
	r, err := ops.NewReplays(db, pub, gs, ops.ReplaySettings{MaxReplays: cfg.ReplayMax, Rate: cfg.ReplayRate}, tp, logger)
	if err != nil {
		return nil, err
	}
	runInBackground(lc, r.Run)
	return r, nil
}

func lagMonitor(lc fx.Lifecycle, o *kafka.Offsets, d *ops.DeadLetters, gs Groups, cfg config.Config, m *telemetry.Metrics, logger *slog.Logger) *ops.LagMonitor {
	lm := ops.NewLagMonitor(o, d, gs, cfg.StuckAfter, ops.LagGauges{Lag: m.ConsumerLag, Stuck: m.PartitionStuck, DeadLetters: m.DeadLetters}, logger)
	runInBackground(lc, lm.Run)
	return lm
}

// flowMonitor samples this instance's event and publish counters, for the
// operations page's rates.
func flowMonitor(lc fx.Lifecycle, m *telemetry.Metrics) *ops.FlowMonitor {
	f := ops.NewFlowMonitor(ops.FlowCounters{Events: m.Events, Retries: m.Retries, Published: m.Published})
	runInBackground(lc, f.Run)
	return f
}

// indexDeadLetters reads the dead-letter topics of every registered group
// into the index, from start to stop.
func indexDeadLetters(lc fx.Lifecycle, b Brokers, sec kafka.Security, cfg config.Config, db *sqlstore.DB, gs Groups, logger *slog.Logger) error {
	if len(gs) == 0 {
		return nil
	}
	topics := make([]string, len(gs))
	for i, g := range gs {
		topics[i] = events.DeadLetterTopic(g)
	}
	// The reader's client joins its group as soon as it exists: it is made
	// at start, not here, so that a start-up that fails earlier leaves no
	// client behind (dialling a stopped broker and logging after the
	// failure's last line). Run closes it.
	var r *kafka.DeadLetterReader
	lc.Append(fx.Hook{OnStart: func(context.Context) (err error) {
		r, err = kafka.NewDeadLetterReader(b, DeadLetterIndexGroup, topics, cfg.KafkaSessionTimeout, logger, kafka.WithSecurity(sec))
		return err
	}})
	runInBackground(lc, func(ctx context.Context) {
		r.Run(ctx, func(ctx context.Context, recs []*kgo.Record) error {
			rs := make([]ops.Record, len(recs))
			for i, rec := range recs {
				headers := make(map[string][]byte, len(rec.Headers))
				for _, h := range rec.Headers {
					headers[h.Key] = h.Value
				}
				rs[i] = ops.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
					Timestamp: rec.Timestamp, Key: rec.Key, Headers: headers, Value: rec.Value}
			}
			return ops.Index(ctx, db, rs, logger)
		})
	})
	return nil
}

// runInBackground runs fn from start until stop, which cancels its context
// and waits for it to return.
func runInBackground(lc fx.Lifecycle, fn func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			wg.Add(1)
			go func() { defer wg.Done(); fn(ctx) }()
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
				return nil
			case <-stop.Done():
				return stop.Err()
			}
		},
	})
}
