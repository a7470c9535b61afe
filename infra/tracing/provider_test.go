package tracing_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reelay/reelay/infra/tracing"
)

// TestOTLPProviderExportsAndLogsFailures runs the OTLP provider against an
// HTTP endpoint that takes the first batch and refuses the second: the
// first arrives as OTLP protobuf on /v1/traces, the refusal is one warning
// on the logger.
func TestOTLPProviderExportsAndLogsFailures(t *testing.T) {
	var batches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if batches.Add(1) > 1 {
			w.WriteHeader(http.StatusBadRequest) // not retried
		}
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	var log bytes.Buffer
	tp, err := tracing.NewOTLPProvider(context.Background(), "reelay-test", slog.New(slog.NewJSONHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tp.Shutdown(context.Background()) }()
	for range 2 {
		_, span := tp.Tracer("t").Start(context.Background(), "s")
		span.End()
		if err := tp.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := batches.Load(); n != 2 {
		t.Fatalf("%d batches, want 2", n)
	}
	if lines := strings.Count(log.String(), "trace export failed"); lines != 1 {
		t.Fatalf("log %q, want one warning", log.String())
	}
}
