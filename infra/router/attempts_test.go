package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// TestAttemptRecordLogsEachFailedAttempt runs correlation and attemptRecord
// around a stub handler that fails: each attempt counts, the failure times
// are stamped, and the line names the event, its handler and whether it is
// retried (not once the retries are used up, nor for a permanent error).
func TestAttemptRecordLogsEachFailedAttempt(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	h := correlation(logger, "g", "movie:movie-views")(attemptRecord(func() time.Time { return at }, 1, logger)(
		func(msg *message.Message) ([]*message.Message, error) {
			if msg.Metadata.Get(events.DLQAttempts) == "3" {
				return nil, events.Malformed("bad data")
			}
			return nil, errors.New("db down")
		}))
	msg := message.NewMessage("uuid-1", []byte(`{}`))
	msg.Metadata.Set(events.HeaderID, "e1")
	for range 3 {
		if _, err := h(msg); err == nil {
			t.Fatal("the stub's error was lost")
		}
	}
	if got := msg.Metadata.Get(events.DLQAttempts); got != "3" {
		t.Fatalf("attempts %q, want 3", got)
	}
	if msg.Metadata.Get(events.DLQFirstFailure) != at.Format(time.RFC3339Nano) || msg.Metadata.Get(events.DLQLastFailure) == "" {
		t.Fatalf("failure times %v", msg.Metadata)
	}
	var retried []bool
	for _, raw := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatal(err)
		}
		if line["msg"] != "handler failed" || line["event_id"] != "e1" || line["handler"] != "movie:movie-views" || line["group"] != "g" {
			t.Fatalf("line %v", line)
		}
		retried = append(retried, line["retried"].(bool))
	}
	if len(retried) != 3 || !retried[0] || retried[1] || retried[2] {
		t.Fatalf("retried %v, want [true false false] (one retry allowed; the third error is permanent)", retried)
	}
}
