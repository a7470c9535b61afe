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

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
)

// Settings tune the middleware every handler gets.
type Settings struct {
	// RetryMax retries of a transient error before dead-lettering; RetryInitial is the first backoff.
	RetryMax     int
	RetryInitial time.Duration
	// Grace bounds an in-flight handler after the router starts closing; it is
	// also the router's close timeout.
	Grace time.Duration
	// ScanInterval is how often pattern subscriptions look for new topics.
	ScanInterval time.Duration
	// MaxPatternTopics caps the topics one pattern subscription follows
	// besides the consumer's named Topics, which are always followed: each
	// costs a handler and a consumer client. Topics past the cap are logged,
	// counted in reelay_pattern_topics_ignored and not consumed.
	MaxPatternTopics int
}

// Subscribers returns the subscriber of a consumer group.
type Subscribers func(group string) (message.Subscriber, error)

// TopicLister lists existing topics by prefix, for pattern subscriptions.
type TopicLister interface {
	TopicsWithPrefix(prefix string) ([]string, error)
}

// Runner owns the process's Watermill router and the handlers of its consumers.
type Runner struct {
	router      *message.Router
	publisher   message.Publisher
	subscribers Subscribers
	topics      TopicLister
	inbox       Inbox
	metrics     *telemetry.Metrics
	logger      *slog.Logger
	settings    Settings

	stuck *stuckPartitions

	mu        sync.Mutex // guards handlers, patternTopics and ignored
	consumers []events.Consumer
	handlers  map[string]*message.Handler // by handler name
	// patternTopics counts the topics each pattern consumer follows, and
	// ignored those it leaves out for the cap, by consumer name.
	patternTopics map[string]int
	ignored       map[string]int
	// runMu serialises adding-and-running pattern handlers with Stop:
	// Watermill's router panics when a handler is added while Close waits
	// for the others, so none is added once stopping is set.
	runMu     sync.Mutex
	stopping  bool // guarded by runMu
	unstarted bool // guarded by runMu: a RunHandlers failed and must be retried
	cancel    context.CancelFunc
	done      sync.WaitGroup
}

// NewRunner builds the router. Dead-lettered events are published with publisher.
func NewRunner(publisher message.Publisher, subscribers Subscribers, topics TopicLister, inbox Inbox,
	metrics *telemetry.Metrics, logger *slog.Logger, s Settings) (*Runner, error) {
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: s.Grace}, telemetry.WatermillLogger(logger))
	if err != nil {
		return nil, err
	}
	return &Runner{router: r, publisher: publisher, subscribers: subscribers, topics: topics, inbox: inbox,
		metrics: metrics, logger: logger, settings: s, handlers: map[string]*message.Handler{},
		stuck:         newStuckPartitions(metrics.PartitionStuck, logger),
		patternTopics: map[string]int{}, ignored: map[string]int{}}, nil
}

// Stuck lists the partitions whose record can be neither applied nor
// dead-lettered, for /readyz; empty when every partition moves.
func (r *Runner) Stuck() []StuckPartition { return r.stuck.list() }

// Add registers a consumer. Call it before Start.
func (r *Runner) Add(c events.Consumer) { r.consumers = append(r.consumers, c) }

// HandlerName is the name of a consumer's handler for one topic, as logs,
// metrics and dead-letter records show it.
func HandlerName(c events.Consumer, topic string) string { return c.Name + ":" + topic }

// Start subscribes every consumer to its topics and to the existing topics of
// its pattern, runs the router, and watches for new pattern topics. It
// returns once the router runs; it does not block on consumption.
func (r *Runner) Start(ctx context.Context) error {
	if len(r.consumers) == 0 {
		return nil // this process runs no consumer group
	}
	for _, c := range r.consumers {
		for _, t := range c.Topics {
			if err := r.addHandler(c, t); err != nil {
				return err
			}
		}
		if c.TopicPrefix != "" {
			found, err := r.matching(c.TopicPrefix)
			if err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			for _, t := range r.capped(c, found) {
				if err := r.addHandler(c, t); err != nil {
					return err
				}
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
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, c := range r.consumers {
		if c.TopicPrefix != "" {
			r.done.Add(1)
			go r.watch(runCtx, c)
		}
	}
	return nil
}

// Stop stops fetching, lets in-flight handlers finish within Settings.Grace,
// and closes the subscribers, which commit the offsets of acked messages.
func (r *Runner) Stop(context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.runMu.Lock()
	r.stopping = true
	r.runMu.Unlock()
	err := r.router.Close()
	if r.cancel != nil {
		r.cancel()
	}
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
	h.AddMiddleware(
		correlation(r.logger, name),
		outcome(r.metrics, c.Group, name),
		dlq.middleware,
		failureRecord(c.Group, name),
		retry(r.settings.RetryMax, r.settings.RetryInitial, r.logger),
		attemptRecord(time.Now),
		middleware.Recoverer,
		newBatcher(c, r.inbox, r.settings.Grace).middleware,
		inbox(r.inbox, c.Group, r.settings.Grace, c.SideEffects),
	)
	r.handlers[name] = h
	if c.TopicPrefix != "" && !slices.Contains(c.Topics, topic) {
		r.patternTopics[c.Name]++
	}
	return nil
}

// capped returns the topics of found that c may still follow under
// Settings.MaxPatternTopics, and counts and logs the rest.
func (r *Runner) capped(c events.Consumer, found []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	room := r.settings.MaxPatternTopics - r.patternTopics[c.Name]
	var add []string
	ignored := 0
	for _, t := range found {
		if _, ok := r.handlers[HandlerName(c, t)]; ok {
			continue
		}
		if len(add) < room {
			add = append(add, t)
		} else {
			ignored++
		}
	}
	if ignored != r.ignored[c.Name] {
		r.ignored[c.Name] = ignored
		r.metrics.PatternTopicsIgnored.WithLabelValues(c.Group).Set(float64(ignored))
		if ignored > 0 {
			r.logger.Warn("pattern subscription is at its cap; matching topics past it are not consumed (raise REELAY_MAX_PATTERN_TOPICS)",
				"group", c.Group, "prefix", c.TopicPrefix, "cap", r.settings.MaxPatternTopics, "ignored", ignored)
		}
	}
	return add
}

func (r *Runner) matching(prefix string) ([]string, error) {
	all, err := r.topics.TopicsWithPrefix(prefix)
	if err != nil {
		return nil, fmt.Errorf("list topics %s*: %w", prefix, err)
	}
	return slices.DeleteFunc(all, events.IsDeadLetterTopic), nil
}

// watch subscribes c to topics matching its prefix as they appear, without a
// restart. A subscription that fails (the broker briefly away) is retried on
// the next tick.
func (r *Runner) watch(ctx context.Context, c events.Consumer) {
	defer r.done.Done()
	t := time.NewTicker(r.settings.ScanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		topics, err := r.matching(c.TopicPrefix)
		if err != nil {
			r.logger.Warn("pattern scan failed", "prefix", c.TopicPrefix, "err", err)
			continue
		}
		r.addAndRun(ctx, c, topics)
	}
}

// addAndRun adds a handler for each topic that has none and runs every
// handler not yet running, unless Stop has begun.
func (r *Runner) addAndRun(ctx context.Context, c events.Consumer, topics []string) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.stopping {
		return
	}
	for _, topic := range r.capped(c, topics) {
		if err := r.addHandler(c, topic); err != nil {
			r.logger.Error("subscribe new topic", "topic", topic, "err", err)
			continue
		}
		r.logger.Info("subscribed new topic", "topic", topic, "group", c.Group)
		r.unstarted = true
	}
	if !r.unstarted {
		return
	}
	if err := r.router.RunHandlers(ctx); err != nil {
		r.logger.Error("run new handlers; retrying on the next scan", "err", err)
		return
	}
	r.unstarted = false
}
