package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reelay/reelay/infra/telemetry"
)

// metricsMiddleware counts and times requests by method and route template.
// Both labels come from bounded sets whatever the request says: a method
// outside the standard ones is "other", a path no route matched is
// "unmatched", so no client can grow the series.
func metricsMiddleware(m *telemetry.Metrics, routes map[string]bool) echo.MiddlewareFunc {
	type series struct {
		method, route string
		status        int
	}
	requests := telemetry.NewSeries(func(k series) prometheus.Counter {
		return m.HTTPRequests.WithLabelValues(k.method, k.route, strconv.Itoa(k.status))
	})
	seconds := telemetry.NewSeries(func(k series) prometheus.Observer {
		return m.HTTPSeconds.WithLabelValues(k.method, k.route)
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := answered(c, err)
			route := c.Path()
			if !routes[route] {
				route = "unmatched"
			}
			method := methodLabel(c.Request().Method)
			requests.Of(series{method, route, status}).Inc()
			seconds.Of(series{method: method, route: route}).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// answered is the status a request was (or is about to be) answered with:
// an error's is set by the error handler after the middleware returns.
func answered(c echo.Context, err error) int {
	if err != nil {
		return toAPIError(err).Status
	}
	return c.Response().Status
}

// methodLabel is the method when it is a standard one, else "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
