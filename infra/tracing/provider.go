package tracing

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// NewProvider returns an SDK provider that records every span (unless
// OTEL_TRACES_SAMPLER says otherwise) and hands them to exporter through a
// batch span processor (OTEL_BSP_* apply): ending a span never waits for the
// exporter. Spans carry service.name serviceName. Shutdown flushes what is
// batched and stops the exporter; call it once nothing records any more.
func NewProvider(exporter sdktrace.SpanExporter, serviceName string) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", serviceName))),
	)
}

// NewOTLPProvider is NewProvider with the OTLP exporter over HTTP
// (protobuf), configured by the standard OTEL_EXPORTER_OTLP_* variables,
// which it reads itself. Creating it does not connect: the first batch does.
// A batch that cannot be exported is dropped with a warning on logger (not
// on OpenTelemetry's global error handler).
func NewOTLPProvider(ctx context.Context, serviceName string, logger *slog.Logger) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	return NewProvider(loggedExporter{SpanExporter: exp, logger: logger}, serviceName), nil
}

// loggedExporter logs a failed export and reports success, so that the
// batch processor does not hand the error to the global error handler.
type loggedExporter struct {
	sdktrace.SpanExporter
	logger *slog.Logger
}

func (e loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		e.logger.Warn("trace export failed; spans dropped", "spans", len(spans), "err", err)
	}
	return nil
}
