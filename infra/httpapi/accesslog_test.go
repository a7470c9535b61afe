package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestAccessLogWritesOneLinePerRequest serves two stub routes through the
// correlation and access-log middlewares: one line each, with the route
// template rather than the path, the status (an error's too) and the
// correlation id the client sent.
func TestAccessLogWritesOneLinePerRequest(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := echo.New()
	e.Use(correlationMiddleware, accessLog(slog.New(slog.NewJSONHandler(&buf, nil))))
	e.GET("/movies/:id", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.POST("/movies", func(echo.Context) error { return invalid("title", "title is required") })
	for _, r := range []*http.Request{httptest.NewRequest(http.MethodGet, "/movies/heat", nil), httptest.NewRequest(http.MethodPost, "/movies", nil)} {
		r.Header.Set(headerCorrelationID, "c-1")
		e.ServeHTTP(httptest.NewRecorder(), r)
	}
	dec := json.NewDecoder(&buf)
	for _, want := range []struct {
		route  string
		status float64
	}{{"/movies/:id", 200}, {"/movies", 400}} {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		if line["msg"] != "http request" || line["route"] != want.route || line["status"] != want.status || line["correlation_id"] != "c-1" {
			t.Fatalf("line %v, want route %s status %v", line, want.route, want.status)
		}
	}
	if dec.More() {
		t.Fatal("more than one line per request")
	}
}
