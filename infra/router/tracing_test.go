package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/tracing"
)

// recorder is an SDK tracer whose spans are kept in memory as they end.
func recorder(t *testing.T) (trace.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tracing.Tracer(tp, "test"), exp
}

const (
	producerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	producerSpan  = "00f067aa0ba902b7"
)

// TestConsumeSpanContinuesTheRecordsTrace runs correlation and consumeSpan
// on a stub handler that logs once: the span is the child of the record's
// span context, and the log line carries the span's ids.
func TestConsumeSpanContinuesTheRecordsTrace(t *testing.T) {
	t.Parallel()
	parent := "00-" + producerTrace + "-" + producerSpan + "-01"
	other := "00-11111111111111111111111111111111-2222222222222222-01"
	cases := []struct {
		name      string
		headers   map[string]string
		wantTrace string // "" for a new trace
	}{
		{"ce_traceparent", map[string]string{tracing.HeaderTraceParent: parent}, producerTrace},
		{"plain traceparent of a foreign producer", map[string]string{tracing.HeaderPlainTraceParent: parent}, producerTrace},
		{"ce_traceparent wins", map[string]string{tracing.HeaderTraceParent: parent, tracing.HeaderPlainTraceParent: other}, producerTrace},
		{"none: a new trace", nil, ""},
		{"malformed: a new trace", map[string]string{tracing.HeaderTraceParent: "00-zz-yy-01"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tracer, exp := recorder(t)
			var buf bytes.Buffer
			chain := correlation(slog.New(slog.NewJSONHandler(&buf, nil)), "movie-group", "movie:movie-views")(
				consumeSpan(tracer, "movie-group", "movie:movie-views", "movie-group.dlq")(
					func(msg *message.Message) ([]*message.Message, error) {
						loggerFrom(msg.Context(), nil).Info("handled")
						return nil, nil
					}))
			msg := message.NewMessage("uuid-1", []byte(`{}`))
			msg.Metadata = message.Metadata{events.HeaderID: "e1", events.HeaderSource: "s", events.HeaderType: "movie.viewed"}
			for k, v := range tc.headers {
				msg.Metadata[k] = v
			}
			if _, err := chain(msg); err != nil {
				t.Fatal(err)
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.Name != "process" || s.SpanKind != trace.SpanKindConsumer {
				t.Fatalf("span %q kind %v", s.Name, s.SpanKind)
			}
			if tc.wantTrace != "" {
				if s.SpanContext.TraceID().String() != tc.wantTrace || s.Parent.SpanID().String() != producerSpan || !s.Parent.IsRemote() {
					t.Fatalf("trace %s parent %s remote %v, want the producer's", s.SpanContext.TraceID(), s.Parent.SpanID(), s.Parent.IsRemote())
				}
			} else if s.Parent.IsValid() {
				t.Fatalf("parent %v, want a root span", s.Parent)
			}
			if !hasAttr(s.Attributes, attribute.String("reelay.outcome", "applied")) ||
				!hasAttr(s.Attributes, attribute.String("messaging.consumer.group.name", "movie-group")) {
				t.Fatalf("attributes %v", s.Attributes)
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			if line["trace_id"] != s.SpanContext.TraceID().String() || line["span_id"] != s.SpanContext.SpanID().String() ||
				line["correlation_id"] != "e1" {
				t.Fatalf("log line %v, want the span's ids and the correlation id", line)
			}
		})
	}
}

// TestRetriesAndDeadLetterAreSpanEvents runs the failure half of the chain
// (consume span, dead letter, failure record, retry, attempt record,
// attempt events) on a handler that always fails: one event per failed
// attempt, then one for the dead letter.
func TestRetriesAndDeadLetterAreSpanEvents(t *testing.T) {
	t.Parallel()
	tracer, exp := recorder(t)
	pubsub := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	defer func() { _ = pubsub.Close() }()
	dlq := newTestDeadLetter(pubsub)
	const retries = 2
	chain := consumeSpan(tracer, "g", "h", dlq.topic)(dlq.middleware(failureRecord("g", "h")(
		retry(retries, 1)(attemptRecord(time.Now, retries, dlq.logger)(attemptEvents(tracer, retries)(
			failing(errors.New("database is locked"))))))))
	msg := message.NewMessage("uuid-1", []byte(`{}`))
	if _, err := chain(msg); err != nil {
		t.Fatalf("err = %v, want the message acked after dead-lettering", err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	var got []string
	for _, e := range s.Events {
		got = append(got, e.Name+" "+attrOf(e.Attributes, "reelay.attempt")+" "+attrOf(e.Attributes, "reelay.retried")+
			attrOf(e.Attributes, "reelay.dlq.topic"))
	}
	want := []string{"attempt failed 1 true", "attempt failed 2 true", "attempt failed 3 false", "dead-lettered  g.dlq"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n%q\nwant\n%q", got, want)
	}
	if dl := s.Events[3]; !strings.Contains(attrOf(dl.Attributes, "reelay.dlq.reason"), "database is locked") ||
		attrOf(dl.Attributes, "reelay.dlq.attempts") != "3" {
		t.Fatalf("dead-letter event %v", dl.Attributes)
	}
	if s.Status.Code != codes.Error || !hasAttr(s.Attributes, attribute.String("reelay.outcome", "dead_lettered")) {
		t.Fatalf("status %v attributes %v", s.Status, s.Attributes)
	}
}

// TestInboxSpanHoldsTheHandler: the inbox transaction is a child of the
// consume span, and the handler runs in it.
func TestInboxSpanHoldsTheHandler(t *testing.T) {
	t.Parallel()
	tracer, exp := recorder(t)
	ib := traceInbox(&seenInbox{seen: map[string]bool{}}, tracer)
	var inHandler trace.SpanContext
	ctx, parent := tracer.Start(context.Background(), "process")
	applied, err := ib.Apply(ctx, "g", "e1", func(ctx context.Context) error {
		inHandler = trace.SpanContextFromContext(ctx)
		return nil
	})
	parent.End()
	if err != nil || !applied {
		t.Fatalf("applied %v, err %v", applied, err)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != spanInbox || spans[0].Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v, want the inbox transaction under the consume span", spans)
	}
	if inHandler.SpanID() != spans[0].SpanContext.SpanID() {
		t.Fatal("the handler does not run in the inbox transaction's span")
	}
}

// TestTracingOffAddsNothing: with a nil tracer the middleware are the
// handler itself and the inbox is the inbox itself.
func TestTracingOffAddsNothing(t *testing.T) {
	t.Parallel()
	h := failing(nil)
	for name, mw := range map[string]message.HandlerMiddleware{
		"consumeSpan": consumeSpan(nil, "g", "h", "g.dlq"), "attemptEvents": attemptEvents(nil, 3)} {
		if reflect.ValueOf(mw(h)).Pointer() != reflect.ValueOf(h).Pointer() {
			t.Errorf("%s wraps the handler with tracing off", name)
		}
	}
	ib := &seenInbox{}
	if traceInbox(ib, nil) != Inbox(ib) {
		t.Error("traceInbox wraps the inbox with tracing off")
	}
}

func hasAttr(attrs []attribute.KeyValue, want attribute.KeyValue) bool {
	for _, a := range attrs {
		if a == want {
			return true
		}
	}
	return false
}

func attrOf(attrs []attribute.KeyValue, key attribute.Key) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.Emit()
		}
	}
	return ""
}
