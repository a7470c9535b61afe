package httpapi

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
)

// accessLog writes one INFO line per request (REELAY_ACCESS_LOG): method,
// route template (never the raw path, so ids stay out of it), status,
// duration in milliseconds and correlation id. It runs inside the
// correlation middleware.
func accessLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			logger.Info("http request", "method", methodLabel(c.Request().Method), "route", c.Path(), "status", answered(c, err),
				"ms", time.Since(start).Milliseconds(), "correlation_id", correlationID(c))
			return err
		}
	}
}
