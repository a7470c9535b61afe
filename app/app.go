// Package app is Reelay's composition root: the fx modules that build one
// process — embedded or external Kafka, the store, the publisher, the router
// with its consumers, and the HTTP API — and their lifecycle.
//
// Constructors do no I/O beyond binding the embedded broker's address; the
// start hooks do it, within fx's start timeout: the HTTP address is bound
// first (a port in use stops start-up before any consumer group is
// joined), then embedded broker, database (connect, migrate), topics,
// publisher, router, the operators' tools (dead-letter index, replay
// sender, lag monitor), and HTTP starts serving. Stop runs in
// reverse: HTTP stops taking requests and drains those in flight, the router
// stops fetching and lets in-flight handlers commit, offsets are committed,
// the publisher flushes, the database and the embedded broker close.
package app

import (
	"log/slog"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/telemetry"
)

// New builds the application for cfg. Extra options let tests decorate or
// populate parts of the graph.
func New(cfg config.Config, extra ...fx.Option) *fx.App { return fx.New(Options(cfg, extra...)) }

// Options is the whole graph of the application for cfg, with extra.
func Options(cfg config.Config, extra ...fx.Option) fx.Option {
	opts := []fx.Option{
		fx.Supply(cfg),
		fx.Provide(
			func(c config.Config) *slog.Logger { return telemetry.NewLogger(c.LogLevel) },
			telemetry.NewMetrics,
		),
		// fx's own events (each provide, invoke and hook) and errors at
		// debug: Run ends a failed start with one line of its own.
		fx.WithLogger(func(l *slog.Logger) fxevent.Logger {
			fl := &fxevent.SlogLogger{Logger: l.With("component", "fx")}
			fl.UseLogLevel(slog.LevelDebug)
			fl.UseErrorLevel(slog.LevelDebug) // Run reports the failure in one line
			return fl
		}),
		fx.StartTimeout(60 * time.Second),
		// Stop drains handlers (the grace), then the subscribers wait for
		// their last acks and commit: up to twice the grace, and some.
		fx.StopTimeout(2*cfg.ShutdownTimeout + 15*time.Second),
		PprofModule,
		ListenModule,
		TracingModule,
		KafkaModule,
		StoreModule,
		HandlersModule,
		RouterModule,
		OpsModule,
		HTTPModule,
	}
	return fx.Options(append(opts, extra...)...)
}
