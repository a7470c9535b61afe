package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/infra/tracing"
)

// acking is a record sender at the edge that acknowledges every record at
// once.
type acking struct{}

func (acking) Send(context.Context, *sarama.ProducerMessage, time.Duration) error { return nil }

// BenchmarkIngest serves POST /api/v1/movies/{id}/views in process (JSON
// decoding, validation, envelope, the publish deadline) onto a publisher
// that acknowledges at once: the per-request cost of Reelay's HTTP side,
// with tracing off (a no-op TracerProvider, as without OTEL_* variables) and
// on (an SDK provider with a batch span processor and an exporter that
// discards; server span, publish span, ce_traceparent header).
func BenchmarkIngest(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("tracing=%s", map[bool]string{false: "off", true: "on"}[on]), func(b *testing.B) {
			var tp trace.TracerProvider = noop.NewTracerProvider()
			if on {
				sdk := tracing.NewProvider(tracetest.NewNoopExporter(), "bench")
				defer func() { _ = sdk.Shutdown(context.Background()) }()
				tp = sdk
			}
			pub := kafka.NewEvents(acking{}, 3*time.Second, tracing.Tracer(tp, kafka.TracerName))
			h := httpapi.New(httpapi.Deps{Publisher: pub, Metrics: telemetry.NewMetrics(),
				Logger: slog.New(slog.DiscardHandler), TracerProvider: tp}).Handler()
			body := []byte(`{"userId":"u1","watchedSeconds":5}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/v1/movies/m%d/views", i%64), bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusAccepted {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
