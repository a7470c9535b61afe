package app

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/router"
)

// Brokers are the bootstrap addresses of the Kafka cluster in use.
type Brokers []string

// KafkaModule supplies the brokers (starting the embedded one when none are
// configured), the process's one publisher, the admin client and the
// per-group subscribers, and creates the topics.
var KafkaModule = fx.Module("kafka",
	fx.Provide(
		brokers,
		publisher,
		func(p message.Publisher) *kafka.Events { return kafka.NewEvents(p) },
		func(e *kafka.Events) httpapi.Publisher { return e },
		admin,
		subscribers,
	),
	fx.Invoke(func(a *kafka.Admin) error { return a.EnsureTopics(events.StaticTopics()...) }),
)

func brokers(lc fx.Lifecycle, cfg config.Config, logger *slog.Logger) (Brokers, error) {
	if !cfg.Embedded() {
		return cfg.KafkaBrokers, nil
	}
	b, err := kafka.StartEmbedded(cfg.EmbeddedKafkaAddr, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	logger.Info("embedded kafka listening", "addr", b.Addr(), "data_dir", cfg.DataDir)
	lc.Append(fx.StopHook(b.Close))
	return Brokers{b.Addr()}, nil
}

func publisher(lc fx.Lifecycle, b Brokers, logger *slog.Logger) (message.Publisher, error) {
	p, err := kafka.NewPublisher(b, logger)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(p.Close))
	return p, nil
}

func admin(lc fx.Lifecycle, b Brokers, cfg config.Config) (*kafka.Admin, error) {
	a, err := kafka.NewAdmin(b, cfg.TopicPartitions, cfg.TopicReplication)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(a.Close))
	return a, nil
}

// subscribers creates one subscriber per consumer group on first use and
// closes them at stop.
func subscribers(lc fx.Lifecycle, b Brokers, logger *slog.Logger) router.Subscribers {
	subs := map[string]message.Subscriber{}
	lc.Append(fx.StopHook(func(context.Context) error {
		for _, s := range subs {
			_ = s.Close()
		}
		return nil
	}))
	return func(group string) (message.Subscriber, error) {
		if s, ok := subs[group]; ok {
			return s, nil
		}
		s, err := kafka.NewSubscriber(b, group, logger)
		if err != nil {
			return nil, err
		}
		subs[group] = s
		return s, nil
	}
}
