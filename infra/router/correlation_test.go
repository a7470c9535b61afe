package router

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// TestCorrelationLogsTheEventsIDs runs the middleware on a stub handler that
// logs once, and reads the fields of that line.
func TestCorrelationLogsTheEventsIDs(t *testing.T) {
	t.Parallel()
	binary := func(kv ...string) message.Metadata {
		md := message.Metadata{events.HeaderID: "e1", events.HeaderSource: "s"}
		for i := 0; i < len(kv); i += 2 {
			md[kv[i]] = kv[i+1]
		}
		return md
	}
	structured := message.Metadata{events.HeaderContentType: "application/cloudevents+json"}
	cases := []struct {
		name    string
		md      message.Metadata
		payload string
		want    map[string]string
	}{
		{"ce_correlationid", binary(events.HeaderCorrelationID, "c1"), `{}`,
			map[string]string{"correlation_id": "c1", "event_id": "e1", "event_source": "s"}},
		{"legacy correlation_id", binary(events.HeaderLegacyCorrelationID, "c2"), `{}`,
			map[string]string{"correlation_id": "c2"}},
		{"structured correlationid", structured, `{"id":"e2","source":"s2","correlationid":"c3"}`,
			map[string]string{"correlation_id": "c3", "event_id": "e2", "event_source": "s2"}},
		{"none: the event id", binary(), `{}`, map[string]string{"correlation_id": "e1"}},
		{"unusable: the event id", binary(events.HeaderCorrelationID, "c\n1"), `{}`, map[string]string{"correlation_id": "e1"}},
		{"oversized event id: not logged, the dedup id instead", binary(events.HeaderID, strings.Repeat("i", 8000)), `{}`,
			map[string]string{"correlation_id": "uuid-1", "event_id": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			mw := correlation(slog.New(slog.NewJSONHandler(&buf, nil)), "movie-group", "movie:movie-views")
			msg := message.NewMessage("uuid-1", []byte(tc.payload))
			msg.Metadata = tc.md
			_, err := mw(func(msg *message.Message) ([]*message.Message, error) {
				loggerFrom(msg.Context(), nil).Info("handled")
				return nil, nil
			})(msg)
			if err != nil {
				t.Fatal(err)
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			if line["dedup_id"] != "uuid-1" || line["handler"] != "movie:movie-views" || line["group"] != "movie-group" {
				t.Fatalf("log line %v", line)
			}
			for k, v := range tc.want {
				if line[k] != v {
					t.Errorf("%s = %v, want %q", k, line[k], v)
				}
			}
		})
	}
}
