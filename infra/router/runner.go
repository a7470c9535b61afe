package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/infra/tracing"
)

// Settings tune the middleware every handler gets. Zero values take the
// defaults (setDefaults); Validate refuses the rest out of range.
type Settings struct {
	// RetryMax retries of a transient error before dead-lettering (default
	// 5; 0 retries nothing, so use NoRetries); RetryInitial is the first
	// backoff (default 100 ms).
	RetryMax     int
	NoRetries    bool
	RetryInitial time.Duration
	// Grace bounds an in-flight handler after the router starts closing; it is
	// also the router's close timeout (default 30 s).
	Grace time.Duration
}

func (s *Settings) setDefaults() {
	if s.RetryMax == 0 && !s.NoRetries {
		s.RetryMax = 5
	}
	if s.RetryInitial == 0 {
		s.RetryInitial = 100 * time.Millisecond
	}
	if s.Grace == 0 {
		s.Grace = 30 * time.Second
	}
}

// Validate reports a setting out of range.
func (s Settings) Validate() error {
	var errs []error
	if s.RetryMax < 0 || s.RetryMax > 100 {
		errs = append(errs, fmt.Errorf("RetryMax is %d; want 0 to 100", s.RetryMax))
	}
	if s.RetryInitial < 0 {
		errs = append(errs, fmt.Errorf("RetryInitial is %s; want a positive duration", s.RetryInitial))
	}
	if s.Grace < 0 {
		errs = append(errs, fmt.Errorf("Grace is %s; want a positive duration", s.Grace))
	}
	return errors.Join(errs...)
}

// Deps are what the Runner works with.
type Deps struct {
	// Publisher publishes dead letters.
	Publisher   message.Publisher
	Subscribers Subscribers
	Inbox       Inbox
	Metrics     *telemetry.Metrics
	Logger      *slog.Logger
	Settings    Settings
	// TracerProvider traces each message (consumeSpan); nil or a no-op
	// provider traces nothing, at no cost.
	TracerProvider trace.TracerProvider
}

// Validate reports a missing dependency or a setting out of range.
func (d Deps) Validate() error {
	var errs []error
	for _, m := range []struct {
		name    string
		missing bool
	}{{"Publisher", d.Publisher == nil}, {"Subscribers", d.Subscribers == nil}, {"Inbox", d.Inbox == nil},
		{"Metrics", d.Metrics == nil}, {"Logger", d.Logger == nil}} {
		if m.missing {
			errs = append(errs, fmt.Errorf("%s is required", m.name))
		}
	}
	return errors.Join(append(errs, d.Settings.Validate())...)
}

// Subscribers returns the subscriber of a consumer group. Subscribing to a
// topic name ending in "*" follows every topic with that prefix, those that
// exist and those created later, except the dead-letter topics and topics
// that have a subscription of their own.
type Subscribers func(group string) (message.Subscriber, error)

// Runner owns the process's Watermill router and the handlers of its
// consumers: one handler per topic a consumer names, one for its pattern
// (all notification-* topics, say), and one for its group's replay topic
// (events.ReplayTopic), where replayed dead letters arrive.
type Runner struct {
	router      *message.Router
	publisher   message.Publisher
	subscribers Subscribers
	inbox       Inbox
	metrics     *telemetry.Metrics
	recent      RecentEvents // the last events handled, for the admin API
	logger      *slog.Logger
	settings    Settings
	stuck       *stuckPartitions
	tracer      trace.Tracer // nil: tracing off

	mu        sync.Mutex // guards handlers
	consumers []events.Consumer
	handlers  map[string]*message.Handler // by handler name
	cancel    context.CancelFunc
	done      sync.WaitGroup
}

// NewRunner builds the router, taking defaults for zero settings.
func NewRunner(d Deps) (*Runner, error) {
	d.Settings.setDefaults()
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: d.Settings.Grace}, telemetry.WatermillLogger(d.Logger))
	if err != nil {
		return nil, err
	}
	tracer := tracing.Tracer(d.TracerProvider, tracerName)
	return &Runner{router: r, publisher: d.Publisher, subscribers: d.Subscribers, inbox: traceInbox(d.Inbox, tracer),
		metrics: d.Metrics, logger: d.Logger, settings: d.Settings, handlers: map[string]*message.Handler{},
		stuck: newStuckPartitions(d.Metrics.PartitionStuck, d.Logger), tracer: tracer}, nil
}

// Stuck lists the partitions whose record can be neither applied nor
// dead-lettered, for /readyz; empty when every partition moves.
func (r *Runner) Stuck() []StuckPartition { return r.stuck.list() }

// Recent returns up to limit of the last RecentCapacity events this
// instance's handlers finished with, newest first.
func (r *Runner) Recent(limit int) []HandledEvent { return r.recent.List(limit) }

// Add registers a consumer. Call it before Start.
func (r *Runner) Add(c events.Consumer) { r.consumers = append(r.consumers, c) }

// HandlerName is the name of a consumer's handler for one topic (or its
// pattern, "notification-*"), as logs, metrics and dead-letter records show it.
func HandlerName(c events.Consumer, topic string) string { return c.Name + ":" + topic }

// PatternOf is the subscription of a consumer's TopicPrefix.
func PatternOf(c events.Consumer) string { return c.TopicPrefix + "*" }

// Start adds a handler for every topic and pattern of every consumer and
// runs the router. It returns once the router runs; it does not block on
// consumption.
func (r *Runner) Start(ctx context.Context) error {
	if len(r.consumers) == 0 {
		return nil // this process runs no consumer group
	}
	for _, c := range r.consumers {
		topics := append(slices.Clone(c.Topics), events.ReplayTopic(c.Group))
		if c.TopicPrefix != "" {
			topics = append(topics, PatternOf(c))
		}
		for _, t := range topics {
			if err := r.addHandler(c, t); err != nil {
				return err
			}
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		if err := r.router.Run(runCtx); err != nil {
			r.logger.Error("router stopped", "err", err)
		}
	}()
	select {
	case <-r.router.Running():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops fetching, lets in-flight handlers finish within Settings.Grace,
// and closes the subscribers, which commit the offsets of acked messages.
func (r *Runner) Stop(context.Context) error {
	if r.cancel == nil {
		return nil
	}
	err := r.router.Close()
	r.cancel()
	r.done.Wait()
	return err
}

// Subscribed reports which handlers have not started; nil when all have.
func (r *Runner) Subscribed() error {
	if len(r.consumers) == 0 {
		return nil
	}
	if !r.router.IsRunning() || r.router.IsClosed() {
		return errors.New("router is not running")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var missing []string
	for name, h := range r.handlers {
		select {
		case <-h.Started():
		default:
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("not subscribed: %v", missing)
	}
	return nil
}

// addHandler adds the handler of c for topic with the full middleware chain.
func (r *Runner) addHandler(c events.Consumer, topic string) error {
	name := HandlerName(c, topic)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.handlers[name]; ok {
		return nil
	}
	sub, err := r.subscribers(c.Group)
	if err != nil {
		return err
	}
	d := &dispatcher{consumer: c, metrics: r.metrics, logger: r.logger}
	h := r.router.AddConsumerHandler(name, topic, sub, d.handle)
	dlq := &deadLetter{pub: r.publisher, topic: events.DeadLetterTopic(c.Group), stuck: r.stuck, group: c.Group, logger: r.logger}
	b := newBatcher(c, r.inbox, r.settings.Grace, r.logger, r.metrics.BatchEvents.WithLabelValues(name))
	counted := newOutcomes(r.metrics, c.Group, name)
	run := &runs{consumer: c, batcher: b, whole: r.tracer == nil, observe: func(msg *message.Message, err error, took time.Duration) {
		counted.record(msg, err, took)
		r.recent.Add(handled(msg, err, c.Group, name))
	}}
	h.AddMiddleware(
		settled(kafka.Settle),
		run.middleware,
		decodeFirst(c),
		correlation(r.logger, c.Group, name),
		consumeSpan(r.tracer, c.Group, name, dlq.topic),
		outcome(r.metrics, c.Group, name),
		recentEvents(&r.recent, c.Group, name),
		dlq.middleware,
		failureRecord(c.Group, name),
		retry(r.settings.RetryMax, r.settings.RetryInitial),
		attemptRecord(time.Now, r.settings.RetryMax, r.logger),
		attemptEvents(r.tracer, r.settings.RetryMax),
		middleware.Recoverer,
		b.middleware,
		inbox(r.inbox, c.Group, r.settings.Grace, c.SideEffects),
	)
	r.handlers[name] = h
	return nil
}
