package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/infra/telemetry"
)

// HTTPModule serves the REST API; it starts last and stops first. It also
// purges expired Idempotency-Keys while the process runs.
var HTTPModule = fx.Module("http",
	fx.Provide(newServer),
	fx.Invoke(func(*httpapi.Server) {}, purgeIdempotencyKeys),
)

type serverParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Config     config.Config
	Publisher  httpapi.Publisher
	Movies     httpapi.MovieQueries
	Analytics  httpapi.AnalyticsQueries
	Deliveries httpapi.DeliveryQueries
	Probe      *kafka.Probe
	DB         *sqlstore.DB
	Runner     *router.Runner
	Metrics    *telemetry.Metrics
	Logger     *slog.Logger
	Tracing    trace.TracerProvider
}

func newServer(p serverParams) *httpapi.Server {
	s := httpapi.New(httpapi.Deps{
		Publisher: p.Publisher, Movies: p.Movies, Analytics: p.Analytics, Deliveries: p.Deliveries,
		Idempotency: p.DB, IdempotencyTTL: p.Config.IdempotencyTTL,
		Ready: map[string]httpapi.Check{
			"broker":   p.Probe.Check,
			"database": p.DB.Ping,
			"handlers": func(context.Context) error { return p.Runner.Subscribed() },
		},
		Stuck:       p.Runner.Stuck,
		ReadTimeout: p.Config.HTTPReadTimeout,
		AccessLog:   p.Config.AccessLog,
		Metrics:     p.Metrics, Logger: p.Logger,
		TracerProvider: p.Tracing,
	})
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			addr, err := s.Start(p.Config.HTTPAddr)
			if err != nil {
				return fmt.Errorf("%w (check %s)", err, config.EnvHTTPAddr)
			}
			p.Logger.Info("http listening", "addr", addr)
			return nil
		},
		OnStop: s.Stop,
	})
	return s
}

const (
	// idempotencyPurgeEvery is how often expired Idempotency-Keys are deleted.
	idempotencyPurgeEvery = time.Minute
	// idempotencyPurgeBatch bounds one delete, so that on SQLite it holds
	// the single writer only briefly.
	idempotencyPurgeBatch = 1000
)

// purgeIdempotencyKeys deletes expired Idempotency-Keys every minute, in
// batches until none is left, from start until stop.
func purgeIdempotencyKeys(lc fx.Lifecycle, db *sqlstore.DB, logger *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				tick := time.NewTicker(idempotencyPurgeEvery)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					for ctx.Err() == nil {
						n, err := db.PurgeIdempotencyKeys(ctx, idempotencyPurgeBatch)
						if err != nil && ctx.Err() == nil {
							logger.Warn("purging expired idempotency keys", "err", err)
						}
						if err != nil || n < idempotencyPurgeBatch {
							break
						}
					}
				}
			}()
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-stop.Done():
				return stop.Err()
			}
		},
	})
}
