package tracing_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/reelay/reelay/infra/tracing"
)

const (
	originalTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	originalSpan   = "00f067aa0ba902b7"
	originalParent = "00-" + originalTrace + "-" + originalSpan + "-01"
)

func recorder(t *testing.T) (trace.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tracing.Tracer(tp, "test"), exp
}

func TestTracerIsNilWhenOff(t *testing.T) {
	t.Parallel()
	for name, tp := range map[string]trace.TracerProvider{"nil": nil, "noop": noop.NewTracerProvider()} {
		if tracing.Tracer(tp, "x") != nil {
			t.Errorf("%s provider: a tracer, want nil", name)
		}
	}
	if tracing.Tracer(sdktrace.NewTracerProvider(), "x") == nil {
		t.Error("SDK provider: nil tracer")
	}
}

// TestInjectExtractRoundTrip: the ce_ pair is written, and read back; a
// foreign producer's plain pair is read when there is no ce_traceparent.
func TestInjectExtractRoundTrip(t *testing.T) {
	t.Parallel()
	tracer, _ := recorder(t)
	ctx, span := tracer.Start(context.Background(), "publish")
	defer span.End()
	headers := map[string]string{}
	tracing.Inject(ctx, headers)
	if _, ok := headers[tracing.HeaderTraceParent]; !ok || len(headers) != 1 {
		t.Fatalf("headers %v, want ce_traceparent alone (no trace state)", headers)
	}
	if got := tracing.SpanContextOf(headers); got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Fatalf("extracted %v, want the span's context, remote", got)
	}
	tracing.Inject(context.Background(), headers) // no span: nothing changes
	if len(headers) != 1 {
		t.Fatalf("headers %v", headers)
	}

	foreign := map[string]string{tracing.HeaderPlainTraceParent: originalParent, tracing.HeaderPlainTraceState: "vendor=x"}
	sc := tracing.SpanContextOf(foreign)
	if sc.TraceID().String() != originalTrace || sc.SpanID().String() != originalSpan || sc.TraceState().String() != "vendor=x" {
		t.Fatalf("foreign record: %v %v", sc, sc.TraceState())
	}
	mixed := map[string]string{tracing.HeaderTraceParent: originalParent, tracing.HeaderPlainTraceState: "vendor=x"}
	if ts := tracing.SpanContextOf(mixed).TraceState().String(); ts != "" {
		t.Fatalf("trace state %q taken from the other pair", ts)
	}
}

// TestStartLinked: a replay's span belongs to the replay's trace and links
// to the record's original trace.
func TestStartLinked(t *testing.T) {
	t.Parallel()
	tracer, exp := recorder(t)
	ctx, replay := tracer.Start(context.Background(), "replay request")
	headers := map[string]string{tracing.HeaderTraceParent: originalParent, tracing.HeaderTraceState: "vendor=x"}
	_, span := tracing.StartLinked(ctx, tracer, "republish movie-group.dlq", headers)
	span.End()
	replay.End()
	s := exp.GetSpans()[0]
	if s.Name != "republish movie-group.dlq" || s.Parent.SpanID() != replay.SpanContext().SpanID() ||
		!s.SpanContext.TraceID().IsValid() || s.SpanContext.TraceID().String() == originalTrace {
		t.Fatalf("span %q parent %v trace %v, want a child of the replay in its trace", s.Name, s.Parent.SpanID(), s.SpanContext.TraceID())
	}
	if len(s.Links) != 1 || s.Links[0].SpanContext.TraceID().String() != originalTrace ||
		s.Links[0].SpanContext.SpanID().String() != originalSpan || s.Links[0].SpanContext.TraceState().String() != "vendor=x" {
		t.Fatalf("links %v, want one to the original", s.Links)
	}

	_, root := tracing.StartLinked(context.Background(), tracer, "no original", nil)
	root.End()
	if s := exp.GetSpans()[2]; len(s.Links) != 0 || s.Parent.IsValid() {
		t.Fatalf("without headers: links %v parent %v, want a root without links", s.Links, s.Parent)
	}

	off, span := tracing.StartLinked(ctx, nil, "off", headers)
	span.End() // safe
	if off != ctx || span != trace.SpanFromContext(ctx) {
		t.Fatal("nil tracer: want ctx as it is")
	}
}

func TestLogAttrs(t *testing.T) {
	t.Parallel()
	tracer, _ := recorder(t)
	if got := tracing.LogAttrs(context.Background()); got != nil {
		t.Fatalf("no span: %v", got)
	}
	ctx, span := tracer.Start(context.Background(), "s")
	defer span.End()
	got := tracing.LogAttrs(ctx)
	if len(got) != 4 || got[0] != "trace_id" || got[1] != span.SpanContext().TraceID().String() ||
		got[2] != "span_id" || got[3] != span.SpanContext().SpanID().String() {
		t.Fatalf("LogAttrs = %v", got)
	}
}
