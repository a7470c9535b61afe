// Package tracing carries one OpenTelemetry trace per event: from the HTTP
// request (W3C traceparent) through the publish, the Kafka record (the
// CloudEvents distributed-tracing extension in binary mode: ce_traceparent
// and ce_tracestate) and each consumer group's handling, to the inbox
// transaction.
//
// Tracing is off unless a real TracerProvider is given: Tracer returns nil
// for a nil or no-op provider, and every instrumented component holding a
// nil Tracer skips all span, header and propagation work. Nothing here sets
// OpenTelemetry's globals; the provider is injected and the propagator is
// W3C Trace Context, named where it is used.
package tracing

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Record headers of the CloudEvents distributed-tracing extension in binary
// mode, and the plain W3C names some foreign producers write instead.
const (
	HeaderTraceParent      = "ce_traceparent"
	HeaderTraceState       = "ce_tracestate"
	HeaderPlainTraceParent = "traceparent"
	HeaderPlainTraceState  = "tracestate"
)

// Tracer returns tp's tracer for the instrumentation scope name, or nil when
// tp is nil or a noop.TracerProvider: tracing is off, and a component with a
// nil Tracer must do no tracing work at all.
func Tracer(tp trace.TracerProvider, name string) trace.Tracer {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return nil
	}
	return tp.Tracer(name)
}

// Inject writes the span context of ctx into a record's headers as
// ce_traceparent and, when the trace has a trace state, ce_tracestate. It
// writes nothing when ctx holds no valid span context.
func Inject(ctx context.Context, headers map[string]string) {
	propagation.TraceContext{}.Inject(ctx, recordCarrier(headers))
}

// Extract returns ctx with the remote span context a record's headers carry:
// ce_traceparent (with ce_tracestate), or else traceparent (with
// tracestate). A missing or malformed traceparent leaves ctx as it is.
func Extract(ctx context.Context, headers map[string]string) context.Context {
	return propagation.TraceContext{}.Extract(ctx, recordCarrier(headers))
}

// SpanContextOf is the span context a record's headers carry (see Extract);
// invalid when they carry none.
func SpanContextOf(headers map[string]string) trace.SpanContext {
	return trace.SpanContextFromContext(Extract(context.Background(), headers))
}

// StartLinked starts a span for a component that republishes a copy of a
// record (a dead-letter replay, say): the span belongs to the trace of ctx
// (a new trace when ctx has none) and is linked to the record's original
// trace, read from its headers (no link when they carry none). To have the
// copy's consumers join the new trace, Inject the returned context into the
// copy's headers. With a nil tracer it returns ctx and a non-recording span,
// so callers may End it unconditionally.
func StartLinked(ctx context.Context, tracer trace.Tracer, name string, headers map[string]string,
	opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if tracer == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	if original := SpanContextOf(headers); original.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: original}))
	}
	return tracer.Start(ctx, name, opts...)
}

// LogAttrs are the "trace_id" and "span_id" attributes of the span ctx
// holds, for a log line; nil when that span is not recording (tracing off).
func LogAttrs(ctx context.Context) []any {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return nil
	}
	sc := span.SpanContext()
	return []any{"trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String()}
}

// recordCarrier maps the W3C field names to a record's headers: it writes
// the ce_ names and reads them first, the plain names only when the record
// has no ce_traceparent (so a trace state is never taken from the other pair).
type recordCarrier map[string]string

func (c recordCarrier) Get(key string) string {
	_, ce := c[HeaderTraceParent]
	switch key {
	case HeaderPlainTraceParent:
		if ce {
			return c[HeaderTraceParent]
		}
		return c[HeaderPlainTraceParent]
	case HeaderPlainTraceState:
		if ce {
			return c[HeaderTraceState]
		}
		return c[HeaderPlainTraceState]
	}
	return ""
}

func (c recordCarrier) Set(key, value string) {
	switch key {
	case HeaderPlainTraceParent:
		c[HeaderTraceParent] = value
	case HeaderPlainTraceState:
		c[HeaderTraceState] = value
	}
}

func (c recordCarrier) Keys() []string {
	return []string{HeaderPlainTraceParent, HeaderPlainTraceState}
}
