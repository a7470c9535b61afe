package kafka_test

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/tracing"
)

// TestPublishSpanTravelsInTheRecord: Events.Publish in a request's span
// gives a producer span under it, whose context the record's headers carry.
func TestPublishSpanTravelsInTheRecord(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracer := tracing.Tracer(tp, "test")
	var out capture
	ev := kafka.NewEvents(&out, time.Second, tracing.Tracer(tp, kafka.TracerName))

	ctx, request := tracer.Start(context.Background(), "POST /api/v1/movies/:id/views")
	e, err := events.New(events.TypeMovieViewed, "test", "heat", map[string]string{"movieId": "heat"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Publish(ctx, events.TopicMovieViews, e); err != nil {
		t.Fatal(err)
	}
	request.End()

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the publish and the request", len(spans))
	}
	publish := spans[0]
	if publish.Name != "publish "+events.TopicMovieViews || publish.SpanKind != trace.SpanKindProducer ||
		publish.Parent.SpanID() != request.SpanContext().SpanID() {
		t.Fatalf("span %q kind %v parent %v", publish.Name, publish.SpanKind, publish.Parent.SpanID())
	}
	headers := map[string]string{}
	for _, h := range out.pm.Headers {
		headers[string(h.Key)] = string(h.Value)
	}
	carried := tracing.SpanContextOf(headers)
	if carried.TraceID() != publish.SpanContext.TraceID() || carried.SpanID() != publish.SpanContext.SpanID() {
		t.Fatalf("record carries %v, want the publish span %v (headers %v)", carried, publish.SpanContext, headers)
	}
	if len(headers) != len(out.pm.Headers) || headers[events.HeaderID] != e.ID {
		t.Fatalf("headers %v", out.pm.Headers)
	}
}
