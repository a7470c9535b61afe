package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/tracing"
)

// keeping is a publisher at the edge that keeps what it is given.
type keeping struct{ msgs []*message.Message }

func (k *keeping) Publish(_ string, msgs ...*message.Message) error {
	k.msgs = append(k.msgs, msgs...)
	return nil
}
func (k *keeping) Close() error { return nil }

// TestPublishSpanTravelsInTheRecord: Events.Publish in a request's span
// gives a producer span under it, whose context the record's headers carry.
func TestPublishSpanTravelsInTheRecord(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracer := tracing.Tracer(tp, "test")
	pub := &keeping{}
	ev := kafka.NewEvents(kafka.TracePublishes(pub, tracing.Tracer(tp, kafka.TracerName)), time.Second)

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
	carried := tracing.SpanContextOf(pub.msgs[0].Metadata)
	if carried.TraceID() != publish.SpanContext.TraceID() || carried.SpanID() != publish.SpanContext.SpanID() {
		t.Fatalf("record carries %v, want the publish span %v (headers %v)", carried, publish.SpanContext, pub.msgs[0].Metadata)
	}
}

func TestTracePublishesOffIsThePublisher(t *testing.T) {
	t.Parallel()
	pub := &keeping{}
	if kafka.TracePublishes(pub, nil) != message.Publisher(pub) {
		t.Fatal("wrapped with tracing off")
	}
}
