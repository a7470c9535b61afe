package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/infra/tracing"
)

// Brokers are the bootstrap addresses of the Kafka cluster in use.
type Brokers []string

// KafkaModule supplies the brokers (the embedded one when none are
// configured), the TLS and SASL settings every client connects with, the
// process's one publisher, the readiness probe and the per-group
// subscribers, and creates the topics. The embedded broker, the publisher
// and the topic-creating admin client reach the brokers in start hooks.
var KafkaModule = fx.Module("kafka",
	fx.Provide(
		security,
		brokers,
		fx.Annotate(publisher, fx.As(new(message.Publisher)), fx.As(new(kafka.RecordSender))),
		fx.Annotate(eventsPublisher, fx.As(new(httpapi.Publisher))),
		probe,
		subscribers,
	),
	fx.Invoke(createTopics),
)

type topicsParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Brokers   Brokers
	Config    config.Config
	Security  kafka.Security
	Logger    *slog.Logger
	Consumers []events.Consumer `group:"consumers"`
}

// createTopics creates, at start, the topics the API publishes to and the
// dead-letter topic of every registered consumer's group, with an admin
// client that lives as long as that.
func createTopics(p topicsParams) {
	p.Lifecycle.Append(fx.Hook{OnStart: func(context.Context) error {
		a, err := connect(p.Logger, "kafka admin", p.Config.KafkaConnectTimeout, func() (*kafka.Admin, error) {
			return kafka.NewAdmin(p.Brokers, p.Config.TopicPartitions, p.Config.TopicReplication, kafka.WithSecurity(p.Security))
		})
		if err != nil {
			return hint(err)
		}
		defer func() { _ = a.Close() }()
		topics := events.PublishedTopics()
		for _, c := range p.Consumers {
			topics = append(topics, events.DeadLetterTopic(c.Group), events.ReplayTopic(c.Group))
		}
		slices.Sort(topics)
		return a.EnsureTopics(slices.Compact(topics)...)
	}})
}

// security turns REELAY_KAFKA_TLS_* and REELAY_KAFKA_SASL_* into the
// settings of every client (and of the embedded broker's SASL).
func security(cfg config.Config, logger *slog.Logger) (kafka.Security, error) {
	s := cfg.KafkaSecurity
	tc, err := s.TLSConfig()
	if err != nil {
		return kafka.Security{}, err
	}
	if s.SASLMechanism == kafka.MechanismPlain && tc == nil && (!cfg.Embedded() || !onLoopback(cfg.EmbeddedKafkaAddr)) {
		logger.Warn("SASL PLAIN without TLS sends the Kafka password in clear text",
			"hint", "use SCRAM-SHA-512, or set "+config.EnvKafkaTLSEnabled+"=true if the brokers offer SASL_SSL")
	}
	return kafka.Security{
		TLS:  tc,
		SASL: kafka.SASL{Mechanism: s.SASLMechanism, User: s.SASLUser, Password: s.SASLPassword},
	}, nil
}

func brokers(lc fx.Lifecycle, cfg config.Config, sec kafka.Security, logger *slog.Logger) (Brokers, error) {
	if !cfg.Embedded() {
		return cfg.KafkaBrokers, nil
	}
	if sec.TLS != nil {
		return nil, fmt.Errorf("%s: the embedded broker speaks plaintext; TLS applies to %s only",
			config.EnvKafkaTLSEnabled, config.EnvKafkaBrokers)
	}
	// The address is bound now, so that every client knows it; the broker
	// loads its log and serves from the start hook.
	b, err := kafka.NewEmbedded(cfg.EmbeddedKafkaAddr, cfg.DataDir, kafka.WithSecurity(sec))
	if errors.Is(err, kafka.ErrOpenToNetwork) {
		return nil, fmt.Errorf("%s=%q: %w: set %s (and its user and password) or listen on 127.0.0.1",
			config.EnvEmbeddedKafkaAddr, cfg.EmbeddedKafkaAddr, kafka.ErrOpenToNetwork, config.EnvKafkaSASLMechanism)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (check %s)", err, config.EnvEmbeddedKafkaAddr)
	}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			if err := b.Start(); err != nil {
				return fmt.Errorf("%w (check %s)", err, config.EnvDataDir)
			}
			logger.Info("embedded kafka listening", "addr", b.Addr(), "data_dir", cfg.DataDir, "sasl", sec.SASL.String())
			return nil
		},
		OnStop: func(context.Context) error { b.Close(); return nil },
	})
	return Brokers{b.Addr()}, nil
}

// publisher is the process's one Kafka producer, the Watermill publisher of
// dead letters and replays and the sender of the API's records; it connects
// in its start hook (waiting for the brokers up to
// REELAY_KAFKA_CONNECT_TIMEOUT).
func publisher(lc fx.Lifecycle, b Brokers, cfg config.Config, sec kafka.Security, logger *slog.Logger) *startedPublisher {
	p := &startedPublisher{}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			pub, err := connect(logger, "kafka publisher", cfg.KafkaConnectTimeout, func() (*kafka.Publisher, error) {
				return kafka.NewPublisher(b, kafka.WithSecurity(sec))
			})
			if err != nil {
				return hint(err)
			}
			p.set(pub)
			return nil
		},
		OnStop: func(context.Context) error { return p.Close() },
	})
	return p
}

// startedPublisher is a publisher made in a start hook, for the values
// built before it: publishing before the start fails.
type startedPublisher struct {
	mu  sync.RWMutex
	pub *kafka.Publisher
}

var errNotStarted = errors.New("kafka publisher not started")

func (p *startedPublisher) set(pub *kafka.Publisher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pub = pub
}

func (p *startedPublisher) started() *kafka.Publisher {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.pub
}

func (p *startedPublisher) Publish(topic string, msgs ...*message.Message) error {
	pub := p.started()
	if pub == nil {
		return errNotStarted
	}
	return pub.Publish(topic, msgs...)
}

func (p *startedPublisher) Send(ctx context.Context, pm *sarama.ProducerMessage, timeout time.Duration) error {
	pub := p.started()
	if pub == nil {
		return errNotStarted
	}
	return pub.Send(ctx, pm, timeout)
}

func (p *startedPublisher) Close() error {
	if pub := p.started(); pub != nil {
		return pub.Close()
	}
	return nil
}

// connect calls dial until it succeeds, fails otherwise than a broker not
// up yet would (refused connection, unknown host), or within has passed,
// logging each failure: brokers that start after Reelay are waited for, for
// a bounded time. A dial still running at the deadline (a broker that
// accepts connections and never answers) is abandoned.
func connect[T io.Closer](logger *slog.Logger, what string, within time.Duration, dial func() (T, error)) (T, error) {
	var zero T
	deadline := time.Now().Add(within)
	for attempt := 1; ; attempt++ {
		type result struct {
			v   T
			err error
		}
		done := make(chan result, 1)
		go func() {
			v, err := dial()
			done <- result{v, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(time.Until(deadline)):
			go func() { // close it if it ever connects
				if late := <-done; late.err == nil {
					_ = late.v.Close()
				}
			}()
			return zero, fmt.Errorf("%s: no broker answered within %s (%s)", what, within, config.EnvKafkaConnectTimeout)
		}
		if r.err == nil {
			return r.v, nil
		}
		if !notUpYet(r.err) || !time.Now().Add(time.Second).Before(deadline) {
			return zero, r.err
		}
		logger.Warn("kafka not reachable yet; retrying", "client", what, "attempt", attempt, "err", r.err,
			"gives_up_in", time.Until(deadline).Round(time.Second).String())
		time.Sleep(time.Second)
	}
}

// eventsPublisher publishes the API's events through the one publisher, each within
// REELAY_PUBLISH_TIMEOUT, each in a publish span when tracing is on.
func eventsPublisher(out kafka.RecordSender, cfg config.Config, tp trace.TracerProvider) *kafka.Events {
	return kafka.NewEvents(out, cfg.PublishTimeout, tracing.Tracer(tp, kafka.TracerName))
}

// probe answers the readiness check "broker": whether the cluster can take
// this instance's events now, asked of any live broker.
func probe(lc fx.Lifecycle, b Brokers, sec kafka.Security) (*kafka.Probe, error) {
	p, err := kafka.NewProbe(b, events.PublishedTopics(), kafka.WithSecurity(sec))
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(p.Close))
	return p, nil
}

// hint names the variables to check when the brokers could not be
// reached, or refused the credentials or the certificate.
func hint(err error) error {
	switch {
	case errors.Is(err, kafka.ErrAuthentication):
		return fmt.Errorf("%w (check %s, %s and %s)", err,
			config.EnvKafkaSASLMechanism, config.EnvKafkaSASLUser, config.EnvKafkaSASLPassword)
	case errors.Is(err, kafka.ErrUntrustedCertificate):
		return fmt.Errorf("%w (check %s and %s)", err, config.EnvKafkaTLSCAFile, config.EnvKafkaTLSServerName)
	}
	return fmt.Errorf("%w (check %s)", err, config.EnvKafkaBrokers)
}

// maxRun bounds the records of one partition one message carries (a run,
// which the router applies in one batch when it can): under load a run is
// what a partition has ready, alone an event is a run of one.
const maxRun = 128

// maxInFlight bounds a group's events handed out and not yet settled.
const maxInFlight = 1024

// subscribers creates one KeyedSubscriber per consumer group on first use
// (one Kafka client for all of the group's topics and its pattern) and
// closes them at stop.
func subscribers(lc fx.Lifecycle, cfg config.Config, b Brokers, sec kafka.Security, m *telemetry.Metrics,
	logger *slog.Logger) router.Subscribers {
	subs := map[string]message.Subscriber{}
	lc.Append(fx.StopHook(func(context.Context) error {
		// Closing commits the offsets of acked messages: a failure means
		// they are consumed again after the restart (the inbox drops them).
		var errs []error
		for group, s := range subs {
			if err := s.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s subscriber: %w", group, err))
			}
		}
		return errors.Join(errs...)
	}))
	return func(group string) (message.Subscriber, error) {
		if s, ok := subs[group]; ok {
			return s, nil
		}
		s, err := kafka.NewKeyedSubscriber(kafka.KeyedSubscriberConfig{
			Brokers: b, ConsumerGroup: group, Security: sec,
			MaxInFlightPerPartition: cfg.ConsumerMaxInFlight,
			// Under load, a batch is what gathers while the one before
			// is applied: half of this bound, about.
			MaxInFlight: maxInFlight,
			// The router settles every message (its settled middleware),
			// and applies a run of records together when it can (runs).
			SettledByConsumer: true,
			MaxRun:            maxRun,
			// An event may be in flight for the whole grace: a revoked
			// partition waits that long before it is given up.
			RevokeTimeout:       cfg.ShutdownTimeout,
			SessionTimeout:      cfg.KafkaSessionTimeout,
			HeartbeatInterval:   cfg.KafkaSessionTimeout / 10,
			RebalanceTimeout:    cfg.ShutdownTimeout + 30*time.Second,
			CloseTimeout:        cfg.ShutdownTimeout,
			PatternScanInterval: cfg.TopicScanInterval,
			MaxPatternTopics:    cfg.MaxPatternTopics,
			OnPatternTopicsIgnored: func(pattern string, ignored int) {
				m.PatternTopicsIgnored.WithLabelValues(group).Set(float64(ignored))
			},
		}, logger)
		if err != nil {
			return nil, err
		}
		subs[group] = s
		return s, nil
	}
}

// onLoopback reports whether a host:port listens on loopback only.
func onLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// notUpYet tells the errors of a broker that is not running yet, or whose
// name does not resolve yet: those a retry at start can outlast.
func notUpYet(err error) bool {
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dns)
}
