package app

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/infra/telemetry"
)

// RouterModule runs the consumers of the groups this process is configured
// for (REELAY_CONSUMER_GROUPS) on the one Watermill router.
var RouterModule = fx.Module("router",
	fx.Provide(newRunner),
)

type runnerParams struct {
	fx.In
	Lifecycle   fx.Lifecycle
	Config      config.Config
	Publisher   message.Publisher
	Subscribers router.Subscribers
	Inbox       router.Inbox
	Metrics     *telemetry.Metrics
	Logger      *slog.Logger
	Consumers   []events.Consumer `group:"consumers"`
	Tracing     trace.TracerProvider
}

func newRunner(p runnerParams) (*router.Runner, error) {
	r, err := router.NewRunner(router.Deps{
		Publisher: p.Publisher, Subscribers: p.Subscribers, Inbox: p.Inbox, Metrics: p.Metrics, Logger: p.Logger,
		TracerProvider: p.Tracing,
		Settings: router.Settings{
			RetryMax:     p.Config.RetryMax,
			NoRetries:    p.Config.RetryMax == 0,
			RetryInitial: p.Config.RetryInitial,
			Grace:        p.Config.ShutdownTimeout,
		},
	})
	if err != nil {
		return nil, err
	}
	if err := checkGroups(p.Config, p.Consumers); err != nil {
		return nil, err
	}
	for _, c := range p.Consumers {
		if p.Config.RunsGroup(c.Group) {
			r.Add(c)
		}
	}
	p.Lifecycle.Append(fx.Hook{OnStart: r.Start, OnStop: r.Stop})
	return r, nil
}

// checkGroups refuses two consumers in one group, and a
// REELAY_CONSUMER_GROUPS that names a group no registered consumer has: the
// consumers' value group is the one list of groups.
func checkGroups(cfg config.Config, consumers []events.Consumer) error {
	var registered []string
	for _, c := range consumers {
		if slices.Contains(registered, c.Group) {
			// The group's inbox, dead-letter and replay topics are its
			// consumer's: two consumers in one group would share them.
			return fmt.Errorf("two consumers register the consumer group %q; give each its own group", c.Group)
		}
		registered = append(registered, c.Group)
	}
	for _, g := range cfg.ConsumerGroups {
		if !slices.Contains(registered, g) {
			slices.Sort(registered)
			return &config.InvalidError{Env: config.EnvConsumerGroups, Value: strings.Join(cfg.ConsumerGroups, ","),
				Allowed: "all, none, or a comma-separated subset of the registered groups " + strings.Join(slices.Compact(registered), ",")}
		}
	}
	return nil
}
