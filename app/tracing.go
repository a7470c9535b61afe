package app

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/tracing"
)

// TracingModule supplies the trace.TracerProvider the HTTP server, the
// publisher and the router trace with: a no-op provider, which makes them
// skip all tracing work, unless an OTLP endpoint is configured
// (config.Tracing.Export); then an SDK provider that batches spans to that
// endpoint over HTTP. Creating the exporter does not connect. Its stop hook
// flushes the spans still batched; it runs after the HTTP server and the
// router stopped, since they depend on the provider and so were built, and
// appended their hooks, after it. Tests replace the provider with
// fx.Replace or fx.Decorate; OpenTelemetry's globals are never set.
var TracingModule = fx.Module("tracing",
	fx.Provide(tracerProvider),
)

func tracerProvider(lc fx.Lifecycle, cfg config.Config, logger *slog.Logger) (trace.TracerProvider, error) {
	if !cfg.Tracing.Export {
		return noop.NewTracerProvider(), nil
	}
	tp, err := tracing.NewOTLPProvider(context.Background(), cfg.Tracing.ServiceName, logger)
	if err != nil {
		return nil, fmt.Errorf("%w (check %s and %s)", err, config.EnvOTLPEndpoint, config.EnvOTLPTracesEndpoint)
	}
	lc.Append(fx.StopHook(tp.Shutdown))
	return tp, nil
}
