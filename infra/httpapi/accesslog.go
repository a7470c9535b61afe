package httpapi

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/infra/tracing"
)

// accessLog writes one INFO line per request (REELAY_ACCESS_LOG): method,
// route template (never the raw path, so ids stay out of it), status,
// duration in milliseconds, correlation id, and trace_id and span_id when
// the request is traced. It runs inside the correlation and tracing
// middleware.
func accessLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			args := []any{"method", methodLabel(c.Request().Method), "route", c.Path(), "status", answered(c, err),
				"ms", time.Since(start).Milliseconds(), "correlation_id", correlationID(c)}
			logger.Info("http request", append(args, tracing.LogAttrs(c.Request().Context())...)...)
			return err
		}
	}
}
