package test_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/infra/httpapi"
)

// FuzzHTTPRoutes sends arbitrary requests to the API of a running Reelay
// (embedded broker, SQLite): whatever arrives, the answer is never a 5xx,
// and every error is a JSON error with a code. Seeds are the requests that
// once broke it.
func FuzzHTTPRoutes(f *testing.F) {
	handler := fuzzServer(f)
	seeds := []struct{ method, path, contentType, body string }{
		{"POST", "/api/v1/movies", "application/json", `[]`},
		{"POST", "/api/v1/movies", "application/jsonx-anything", `{"title":"a"}`},
		{"POST", "/api/v1/movies", "application/json", `{"title":"a\u0000b","year":3000000000}`},
		{"POST", "/api/v1/movies/m1/views", "application/json", `{"userId":"u","watchedSeconds":9223372036854775807}`},
		{"POST", "/api/v1/users/u1/actions", "application/json", `{"type":"search","query":"\u0000"}`},
		{"POST", "/api/v1/notifications", "application/vnd.x+json", `{"userId":"u","channel":"email","subject":"\u0000","body":"b"}`},
		{"GET", "/api/v1/users/u1/notifications?limit=100000", "", ``},
		{"PUT", "/api/v1/movies/%00", "application/json", `{"title":"t"}`},
		{strings.Repeat("X", 2000), "/api/v1/movies", "application/json", `{}`},
		{"GET", "/api/v1/analytics/top?metric=views&limit=-1", "", ``},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.contentType, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, contentType, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/api/v1/" + path
		}
		req, err := http.NewRequest(method, "http://reelay"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s (%q, %q): %d %s", method, path, contentType, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s: %d answer is not a JSON error: %s", method, path, rec.Code, rec.Body)
			}
		}
	})
}

// fuzzServer starts Reelay once for a fuzz target and returns its handler.
func fuzzServer(f *testing.F) http.Handler {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		f.Fatal(err)
	}
	cfg.DataDir = f.TempDir()
	cfg.DatabaseURL = filepath.Join(cfg.DataDir, "reelay.db")
	cfg.HTTPAddr, cfg.EmbeddedKafkaAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.AllConsumerGroups, cfg.ConsumerGroups = false, nil // the routes alone: nothing consumes what the fuzzer publishes
	cfg.LogLevel = "error"
	var srv *httpapi.Server
	a := app.New(cfg, fx.Populate(&srv), fx.Decorate(func() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = a.Stop(ctx)
	})
	return srv.Handler()
}
