package app

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/infra/telemetry"
)

// HTTPModule serves the REST API; it starts last and stops first.
var HTTPModule = fx.Module("http",
	fx.Provide(newServer),
	fx.Invoke(func(*httpapi.Server) {}),
)

type serverParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Config     config.Config
	Publisher  httpapi.Publisher
	Movies     httpapi.MovieQueries
	Analytics  httpapi.AnalyticsQueries
	Deliveries httpapi.DeliveryQueries
	Admin      *kafka.Admin
	DB         *sqlstore.DB
	Runner     *router.Runner
	Metrics    *telemetry.Metrics
	Logger     *slog.Logger
}

func newServer(p serverParams) *httpapi.Server {
	s := httpapi.New(httpapi.Deps{
		Publisher: p.Publisher, Movies: p.Movies, Analytics: p.Analytics, Deliveries: p.Deliveries,
		Ready: map[string]httpapi.Check{
			"broker":   p.Admin.Ping,
			"database": p.DB.Ping,
			"handlers": func(context.Context) error { return p.Runner.Subscribed() },
		},
		Metrics: p.Metrics, Logger: p.Logger,
	})
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			addr, err := s.Start(p.Config.HTTPAddr)
			if err == nil {
				p.Logger.Info("http listening", "addr", addr)
			}
			return err
		},
		OnStop: s.Stop,
	})
	return s
}
