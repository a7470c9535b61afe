package app

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/handlers/analytics"
	"github.com/reelay/reelay/handlers/movie"
	"github.com/reelay/reelay/handlers/notification"
	"github.com/reelay/reelay/infra/notify"
)

// HandlersModule registers every consumer in the "consumers" value group.
// Adding a handler is one line here: AsConsumer(yourpkg.New).
var HandlersModule = fx.Module("handlers",
	fx.Provide(
		notifiers,
		AsConsumer(movie.New),
		AsConsumer(analytics.New),
		AsConsumer(notification.New),
	),
)

// AsConsumer annotates a constructor that returns an events.Consumer so that
// it joins the "consumers" group the router runs.
func AsConsumer(constructor any) any {
	return fx.Annotate(constructor, fx.ResultTags(`group:"consumers"`))
}

// notifiers routes every channel to the webhook when one is configured, else
// to the log.
func notifiers(cfg config.Config, logger *slog.Logger) notification.Notifiers {
	if cfg.NotifyWebhookURL != "" {
		return notification.Notifiers{Default: notify.NewWebhook(cfg.NotifyWebhookURL)}
	}
	return notification.Notifiers{Default: notify.NewLog(logger)}
}
