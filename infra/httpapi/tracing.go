package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the server spans.
const tracerName = "github.com/reelay/reelay/infra/httpapi"

// traceRequests runs each /api/v1 request in a server span named by its
// method and route template ("POST /api/v1/movies/:id/views"): the child of
// the request's W3C traceparent (with tracestate), read with prop, or the
// root of a new trace. Events the request publishes belong to that trace.
// A 5xx answer marks the span as an error. Other paths (/healthz, /readyz,
// /metrics) are not traced, so probes and scrapes make no traces.
func traceRequests(tracer trace.Tracer, prop propagation.TextMapPropagator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			route := c.Path()
			if !strings.HasPrefix(route, "/api/") {
				return next(c)
			}
			r := c.Request()
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span := tracer.Start(ctx, methodLabel(r.Method)+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(
					attribute.String("http.request.method", methodLabel(r.Method)),
					attribute.String("http.route", route),
					attribute.String("url.path", r.URL.Path)))
			defer span.End()
			c.SetRequest(r.WithContext(ctx))
			err := next(c)
			status := answered(c, err)
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return err
		}
	}
}
