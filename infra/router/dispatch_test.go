package router

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
)

func eventOfType(t *testing.T, eventType string) *message.Message {
	t.Helper()
	env, err := events.NewWithID("id-"+eventType, eventType, "test", "k", map[string]string{"movieId": "m", "userId": "u"})
	if err != nil {
		t.Fatal(err)
	}
	msg := message.NewMessage("uuid", message.Payload(env.Data))
	for k, v := range env.Headers() {
		msg.Metadata.Set(k, v)
	}
	return msg
}

// TestDispatchRoutesByTypeAndAcksUnknownTypes: a known type reaches its
// route; an unknown one is acknowledged and counted, logged once per type,
// and once more when the memory of logged types is full.
func TestDispatchRoutesByTypeAndAcksUnknownTypes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	routed := 0
	m := telemetry.NewMetrics()
	d := &dispatcher{
		consumer: events.Consumer{Group: "g", Routes: []events.Route{{Type: events.TypeMovieViewed,
			Handle: func(context.Context, events.Envelope) error { routed++; return nil }}}},
		metrics: m, logger: slog.New(slog.NewTextHandler(&buf, nil)),
	}
	if err := d.handle(eventOfType(t, events.TypeMovieViewed)); err != nil || routed != 1 {
		t.Fatalf("known type: %v, routed %d", err, routed)
	}
	for range 2 {
		if err := d.handle(eventOfType(t, "movie.teleported")); err != nil {
			t.Fatalf("unknown type: %v", err)
		}
	}
	for i := range maxLoggedUnknownTypes + 5 {
		_ = d.handle(eventOfType(t, fmt.Sprintf("x.type%d", i)))
	}
	if n := testutil.ToFloat64(m.UnknownTypes.WithLabelValues("g")); n != 2+maxLoggedUnknownTypes+5 {
		t.Fatalf("unknown types counted %v", n)
	}
	out := buf.String()
	if strings.Count(out, "movie.teleported") != 1 || strings.Count(out, "acknowledging events of an unknown type") != maxLoggedUnknownTypes ||
		strings.Count(out, "no more are logged") != 1 {
		t.Fatalf("log lines:\n%s", out)
	}
}
