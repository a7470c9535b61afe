package app_test

import (
	"context"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/config"
)

// TestTracingModule: without an OTLP endpoint the provider is a no-op one;
// with one, an SDK provider that its stop hook shuts down (flushing), and
// starting connects nowhere.
func TestTracingModule(t *testing.T) {
	t.Setenv(config.EnvOTLPEndpoint, "http://127.0.0.1:1") // read by the exporter itself; nothing listens
	for _, export := range []bool{false, true} {
		var tp trace.TracerProvider
		cfg := config.Config{Tracing: config.Tracing{Export: export, ServiceName: "reelay"}}
		a := fxtest.New(t, fx.Supply(cfg, slog.New(slog.DiscardHandler)), app.TracingModule, fx.Populate(&tp))
		a.RequireStart()
		sdk, isSDK := tp.(*sdktrace.TracerProvider)
		if _, isNoop := tp.(noop.TracerProvider); export != isSDK || export == isNoop {
			t.Fatalf("export=%v: provider %T", export, tp)
		}
		a.RequireStop()
		if isSDK {
			_, span := sdk.Tracer("t").Start(context.Background(), "after stop")
			if span.IsRecording() {
				t.Fatal("the provider was not shut down at stop")
			}
		}
	}
}
