package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceRequests serves stub routes through the correlation, tracing
// and access-log middlewares: an /api/ request gets a server span named by
// its route template, continuing the client's traceparent when it sends
// one; the access-log line carries the span's ids; /healthz is not traced.
func TestTraceRequests(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var buf bytes.Buffer
	e := echo.New()
	e.Use(correlationMiddleware, traceRequests(tp.Tracer("test"), propagation.TraceContext{}),
		accessLog(slog.New(slog.NewJSONHandler(&buf, nil))))
	var inHandler trace.SpanContext
	e.POST("/api/v1/movies/:id/views", func(c echo.Context) error {
		inHandler = trace.SpanContextFromContext(c.Request().Context())
		return c.NoContent(http.StatusAccepted)
	})
	e.GET("/api/v1/fail", func(echo.Context) error { return context.DeadlineExceeded })
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })

	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	r := httptest.NewRequest(http.MethodPost, "/api/v1/movies/heat/views", nil)
	r.Header.Set("traceparent", "00-"+clientTrace+"-"+clientSpan+"-01")
	e.ServeHTTP(httptest.NewRecorder(), r)
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/fail", nil))
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per /api/ request", len(spans))
	}
	views, fail := spans[0], spans[1]
	if views.Name != "POST /api/v1/movies/:id/views" || views.SpanKind != trace.SpanKindServer ||
		views.SpanContext.TraceID().String() != clientTrace || views.Parent.SpanID().String() != clientSpan {
		t.Fatalf("span %q kind %v trace %v parent %v, want the client's trace", views.Name, views.SpanKind,
			views.SpanContext.TraceID(), views.Parent.SpanID())
	}
	if inHandler.SpanID() != views.SpanContext.SpanID() {
		t.Fatal("the handler does not run in the server span")
	}
	if fail.Name != "GET /api/v1/fail" || fail.Parent.IsValid() || fail.Status.Code != codes.Error {
		t.Fatalf("span %q parent %v status %v, want a new trace marked as an error", fail.Name, fail.Parent, fail.Status)
	}

	dec := json.NewDecoder(&buf)
	for _, want := range []trace.SpanContext{views.SpanContext, fail.SpanContext, {}} {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		if !want.IsValid() {
			if _, ok := line["trace_id"]; ok {
				t.Fatalf("untraced request logged %v", line)
			}
			continue
		}
		if line["trace_id"] != want.TraceID().String() || line["span_id"] != want.SpanID().String() {
			t.Fatalf("line %v, want trace %s span %s", line, want.TraceID(), want.SpanID())
		}
	}
}
