package httpapi

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/infra/telemetry"
)

// metricsMiddleware counts and times requests by route pattern, not raw path,
// so ids do not explode the label set.
func metricsMiddleware(m *telemetry.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status = toAPIError(err).Status
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.HTTPRequests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Inc()
			m.HTTPSeconds.WithLabelValues(c.Request().Method, route).Observe(time.Since(start).Seconds())
			return err
		}
	}
}
