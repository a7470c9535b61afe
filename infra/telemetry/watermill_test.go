package telemetry_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/reelay/reelay/infra/telemetry"
)

func TestWatermillLoggerKeepsFieldsAndLevels(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := telemetry.WatermillLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	child := l.With(watermill.LogFields{"handler": "h"}).With(watermill.LogFields{"message_uuid": "m1"})
	child.Trace("trace line", nil)
	child.Debug("debug line", nil)
	child.Info("info line", watermill.LogFields{"n": 1})
	child.Error("error line", errors.New("boom"), nil)
	out := buf.String()
	if strings.Contains(out, "trace line") {
		t.Fatalf("below-level lines were written:\n%s", out)
	}
	if !strings.Contains(out, `level=DEBUG msg="info line"`) {
		t.Fatalf("Watermill's info line not at debug:\n%s", out)
	}
	for _, want := range []string{"debug line", "info line", "handler=h", "message_uuid=m1", "n=1", "error line", "error=boom"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}

func BenchmarkWatermillLoggerTraceDropped(b *testing.B) {
	for _, tc := range []struct {
		name string
		l    watermill.LoggerAdapter
	}{
		{"watermill", watermill.NewSlogLogger(slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))},
		{"lazy", telemetry.WatermillLogger(slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				tc.l.With(watermill.LogFields{"message_uuid": "m", "topic": "t"}).Trace("Received message", watermill.LogFields{"handler": "h"})
			}
		})
	}
}
