package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/infra/ui"
	"github.com/reelay/reelay/ops"
)

// ListenModule binds the HTTP address first of all, so that a port in use
// stops start-up before anything joins a consumer group; HTTPModule serves
// it last.
var ListenModule = fx.Module("listen",
	fx.Provide(listen),
	fx.Invoke(func(*Listener) {}),
)

// Listener is the HTTP API's bound address, bound by its start hook.
type Listener struct{ ln net.Listener }

func listen(lc fx.Lifecycle, cfg config.Config) *Listener {
	l := &Listener{}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", cfg.HTTPAddr)
			if err != nil {
				return fmt.Errorf("%w (check %s)", err, config.EnvHTTPAddr)
			}
			l.ln = ln
			return nil
		},
		OnStop: func(context.Context) error {
			if l.ln != nil {
				_ = l.ln.Close() // closed already when the server served it
			}
			return nil
		},
	})
	return l
}

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
	Listener   *Listener
	Publisher  httpapi.Publisher
	Movies     httpapi.MovieQueries
	Analytics  httpapi.AnalyticsQueries
	Deliveries httpapi.DeliveryQueries
	Probe      *kafka.Probe
	DB         *sqlstore.DB
	Runner     *router.Runner
	Offsets    *kafka.Offsets
	Dead       *ops.DeadLetters
	Replays    *ops.Replays
	Lag        *ops.LagMonitor
	Flow       *ops.FlowMonitor
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
		Stuck:       func() []router.StuckPartition { return stuckPartitions(p.Runner, p.Lag) },
		Admin:       httpapi.Admin{Token: p.Config.AdminToken, DeadLetters: p.Dead, Replays: p.Replays, Lag: p.Lag, Topics: p.Offsets, Flow: p.Flow, Recent: p.Runner},
		UI:          operationsPage(p.Config, p.Logger),
		ReadTimeout: p.Config.HTTPReadTimeout,
		AccessLog:   p.Config.AccessLog,
		Metrics:     p.Metrics, Logger: p.Logger,
		TracerProvider: p.Tracing,
	})
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			p.Logger.Info("http listening", "addr", s.Serve(p.Listener.ln))
			return nil
		},
		OnStop: s.Stop,
	})
	return s
}

// operationsPage builds the page at /ui on the server's own handler, which
// it calls for the admin API.
func operationsPage(cfg config.Config, logger *slog.Logger) func(http.Handler) http.Handler {
	return func(api http.Handler) http.Handler {
		return ui.New(ui.Config{Token: cfg.AdminToken, API: api, Logger: logger})
	}
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

// stuckPartitions lists, for /readyz, the partitions this instance holds
// whose record can be neither applied nor dead-lettered, then those of any
// group with lag and no progress for REELAY_STUCK_AFTER.
func stuckPartitions(r *router.Runner, lm *ops.LagMonitor) []router.StuckPartition {
	out := r.Stuck()
	for _, s := range lm.Stuck() {
		out = append(out, router.StuckPartition{Group: s.Group, Topic: s.Topic, Partition: s.Partition, Offset: s.Committed,
			Since: s.Since, Reason: "no_progress", Error: fmt.Sprintf("lag %d and no progress since %s", s.Lag, s.Since.Format(time.RFC3339))})
	}
	return out
}
