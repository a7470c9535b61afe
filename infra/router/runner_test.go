package router

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/infra/telemetry"
)

// TestNewRunnerDefaultsAndValidates: zero settings take the defaults, out
// of range ones and missing dependencies are refused, each named.
func TestNewRunnerDefaultsAndValidates(t *testing.T) {
	t.Parallel()
	deps := Deps{
		Publisher:   &refusing{},
		Subscribers: func(string) (message.Subscriber, error) { return nil, nil },
		Inbox:       &appliedBatches{},
		Metrics:     telemetry.NewMetrics(),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	r, err := NewRunner(deps)
	if err != nil {
		t.Fatal(err)
	}
	if s := r.settings; s.RetryMax != 5 || s.RetryInitial != 100*time.Millisecond || s.Grace != 30*time.Second {
		t.Fatalf("defaults %+v", s)
	}
	none := deps
	none.Settings = Settings{NoRetries: true}
	if r, err := NewRunner(none); err != nil || r.settings.RetryMax != 0 {
		t.Fatalf("no retries: %+v %v", r.settings, err)
	}
	bad := Deps{Settings: Settings{RetryMax: -1, Grace: -time.Second}}
	_, err = NewRunner(bad)
	for _, want := range []string{"Publisher is required", "Inbox is required", "RetryMax is -1", "Grace is -1s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v lacks %q", err, want)
		}
	}
}
