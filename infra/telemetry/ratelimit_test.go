package telemetry

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLimitRepeatsWritesEachWarningOncePerWindow: 50 identical warnings in a
// window give one line; the first after the window says how many were
// dropped; another message, info lines and lines about one event (a
// dedup_id) are not held back.
func TestLimitRepeatsWritesEachWarningOncePerWindow(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	h := LimitRepeats(slog.NewTextHandler(&buf, nil), 10*time.Second).(*repeatLimiter)
	h.now = func() time.Time { return clock }
	log := slog.New(h).With("group", "g")
	for i := range 50 {
		log.Warn("kafka fetch failed", "partition", i)
		log.Info("progress", "i", i)
	}
	log.Error("another failure")
	for i := range 3 {
		log.With("dedup_id", i).Warn("dead-lettered")
	}
	clock = clock.Add(11 * time.Second)
	log.Warn("kafka fetch failed", "partition", 99)
	out := buf.String()
	if n := strings.Count(out, "kafka fetch failed"); n != 2 {
		t.Fatalf("%d fetch lines, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "partition=99 repeated=49") || strings.Count(out, "msg=progress") != 50 ||
		!strings.Contains(out, "another failure") || !strings.Contains(out, "group=g") || strings.Count(out, "dead-lettered") != 3 {
		t.Fatalf("log:\n%s", out)
	}
}
