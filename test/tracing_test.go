package test_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/fx"
	"google.golang.org/protobuf/proto"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/tracing"
)

// traced starts an instance whose TracerProvider is an SDK provider that
// keeps every ended span in memory.
func traced(t *testing.T) (*instance, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	in := start(t, testConfig(t), fx.Decorate(func(trace.TracerProvider) trace.TracerProvider { return tp }))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) }) // after the instance stops
	return in, exp
}

// spansOf returns the ended spans of one trace.
func spansOf(exp *tracetest.InMemoryExporter, id trace.TraceID) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// traceParent makes a W3C traceparent with fresh ids.
func traceParent(t *testing.T) (trace.TraceID, trace.SpanID, string) {
	t.Helper()
	var tid trace.TraceID
	var sid trace.SpanID
	if _, err := rand.Read(tid[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(sid[:]); err != nil {
		t.Fatal(err)
	}
	return tid, sid, "00-" + hex.EncodeToString(tid[:]) + "-" + hex.EncodeToString(sid[:]) + "-01"
}

// describe renders a trace as "name [group] <- parent" lines, sorted, for
// exact comparison; a parent from outside the trace's spans is "remote <span id>".
func describe(spans tracetest.SpanStubs) []string {
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	var out []string
	for _, s := range spans {
		parent := "(none)"
		if p, ok := byID[s.Parent.SpanID()]; ok {
			parent = p.Name
			if g := attr(p, "messaging.consumer.group.name"); g != "" {
				parent += " [" + g + "]"
			}
		} else if s.Parent.IsValid() {
			parent = "remote " + s.Parent.SpanID().String()
		}
		name := s.Name
		if g := attr(s, "messaging.consumer.group.name"); g != "" {
			name += " [" + g + "]"
		}
		out = append(out, name+" <- "+parent)
	}
	slices.Sort(out)
	return out
}

// TestOneTracePerEvent: one POST of a view, sent with the client's
// traceparent, makes one trace: the server span, the publish span under
// it, one consume span per group (movie-group, analytics-group) under the
// publish span, and under each the inbox transaction that applied it.
func TestOneTracePerEvent(t *testing.T) {
	parallel(t)
	in, exp := traced(t)
	heat := uid("heat")
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": heat, "title": "Heat", "year": 1995})
	in.waitFor("/api/v1/movies/"+heat, fields(map[string]any{"title": "Heat"}))

	tid, sid, parent := traceParent(t)
	code, out := in.do(http.MethodPost, "/api/v1/movies/"+heat+"/views", map[string]any{"userId": uid("u")},
		map[string]string{"traceparent": parent})
	if code != http.StatusAccepted {
		t.Fatalf("POST view: %d %v", code, out)
	}
	client := "remote " + sid.String()
	want := []string{
		"POST /api/v1/movies/:id/views <- " + client,
		"inbox transaction [analytics-group] <- process movie-views [analytics-group]",
		"inbox transaction [movie-group] <- process movie-views [movie-group]",
		"process movie-views [analytics-group] <- publish movie-views",
		"process movie-views [movie-group] <- publish movie-views",
		"publish movie-views <- POST /api/v1/movies/:id/views",
	}
	eventually(t, wait, func() error {
		if got := describe(spansOf(exp, tid)); !slices.Equal(got, want) {
			return fmt.Errorf("trace\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return nil
	})
	for _, s := range spansOf(exp, tid) {
		if s.Name == "process movie-views" && (!s.Parent.IsRemote() || attr(s, "reelay.outcome") != "applied") {
			t.Errorf("%s [%s]: remote parent %v, outcome %q", s.Name, attr(s, "messaging.consumer.group.name"),
				s.Parent.IsRemote(), attr(s, "reelay.outcome"))
		}
	}
	in.waitFor("/api/v1/analytics/movies/"+heat, fields(map[string]any{"views": 1}))
}

// TestForeignProducersTraceIsContinued: a record a plain Kafka client
// produced with a trace context (the CloudEvents ce_traceparent, or a bare
// W3C traceparent) is consumed in that trace, each group's consume span the
// child of the producer's span.
func TestForeignProducersTraceIsContinued(t *testing.T) {
	parallel(t)
	in, exp := traced(t)
	for _, header := range []string{tracing.HeaderTraceParent, tracing.HeaderPlainTraceParent} {
		t.Run(header, func(t *testing.T) {
			tid, sid, parent := traceParent(t)
			heat := uid("heat")
			headers := binary(uuid.NewString(), events.TypeMovieViewed)
			headers[header] = parent
			in.produce(events.TopicMovieViews, heat, mustJSON(map[string]any{"movieId": heat, "userId": uid("u")}), headers)
			eventually(t, wait, func() error {
				groups := map[string]bool{}
				for _, s := range spansOf(exp, tid) {
					if s.Name != "process movie-views" {
						continue
					}
					if s.Parent.SpanID() != sid || !s.Parent.IsRemote() {
						return fmt.Errorf("consume span's parent %v (remote %v), want the producer's %v", s.Parent.SpanID(), s.Parent.IsRemote(), sid)
					}
					groups[attr(s, "messaging.consumer.group.name")] = true
				}
				if !groups[events.GroupMovie] || !groups[events.GroupAnalytics] || len(groups) != 2 {
					return fmt.Errorf("consume spans in the producer's trace for %v, want movie-group and analytics-group", groups)
				}
				return nil
			})
		})
	}
}

// TestTracesAreExportedWithOTLPAtStop configures tracing as production does,
// with the standard variables, against an OTLP/HTTP endpoint in the test:
// the spans of a POSTed view, batched, reach it when the instance stops,
// under the configured service name.
func TestTracesAreExportedWithOTLPAtStop(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{} // "service/span name" → count
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			t.Errorf("%s: not OTLP: %v", r.URL.Path, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					got[service+"/"+s.Name]++
				}
			}
		}
	}))
	defer collector.Close()
	env := map[string]string{config.EnvOTLPTracesEndpoint: collector.URL + "/v1/traces", config.EnvOTelServiceName: "reelay-test",
		"OTEL_BSP_SCHEDULE_DELAY": "600000"} // no export before the stop
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg := testConfig(t)
	loaded, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tracing = loaded.Tracing
	in := start(t, cfg)
	heat := uid("heat")
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+heat+"/views", map[string]any{"userId": uid("u")})
	in.waitFor("/api/v1/analytics/movies/"+heat, fields(map[string]any{"views": 1}))
	in.waitFor("/api/v1/movies/"+heat, fields(map[string]any{"views": 1}))
	mu.Lock()
	before := len(got)
	mu.Unlock()
	in.stop()
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"reelay-test/POST /api/v1/movies/:id/views": 1, "reelay-test/publish movie-views": 1,
		"reelay-test/process movie-views": 2, "reelay-test/inbox transaction": 2}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d spans, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if before != 0 {
		t.Errorf("%d span names exported before the stop, want the batch held until it", before)
	}
}

// TestReplayedEventLinksToItsOriginalTrace: a view dead-lettered in
// movie-group, replayed after the fix, is consumed in a trace of its own —
// the replay span, and under it movie-group's consume span and inbox
// transaction — whose replay span links to the original trace.
func TestReplayedEventLinksToItsOriginalTrace(t *testing.T) {
	parallel(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var broken atomic.Bool
	broken.Store(true)
	in := start(t, adminConfig(t), poisonMovieStore(&broken), fx.Decorate(func(trace.TracerProvider) trace.TracerProvider { return tp }))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	original, _, parent := traceParent(t)
	poisoned := uid("poison")
	if code, out := in.do(http.MethodPost, "/api/v1/movies/"+poisoned+"/views", map[string]any{"userId": "u1"},
		map[string]string{"traceparent": parent}); code != http.StatusAccepted {
		t.Fatalf("POST view: %d %v", code, out)
	}
	var refs []map[string]any
	eventually(t, wait, func() error {
		refs = nil
		for _, r := range in.deadLettersOf(events.GroupMovie, poisoned) {
			refs = append(refs, map[string]any{"partition": r.(map[string]any)["partition"], "offset": r.(map[string]any)["offset"]})
		}
		if len(refs) != 1 {
			return fmt.Errorf("%d dead letters", len(refs))
		}
		return nil
	})
	broken.Store(false)
	in.runReplay(events.GroupMovie, map[string]any{"records": refs})
	eventually(t, wait, func() error {
		var replay *tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.Name == "replay "+events.TopicMovieViews {
				replay = &s
			}
		}
		if replay == nil {
			return fmt.Errorf("no replay span")
		}
		if len(replay.Links) != 1 || replay.Links[0].SpanContext.TraceID() != original {
			return fmt.Errorf("replay span links %v, want the original trace %s", replay.Links, original)
		}
		want := []string{
			"inbox transaction [movie-group] <- process movie-group.replay [movie-group]",
			"process movie-group.replay [movie-group] <- replay movie-views",
			"replay movie-views <- (none)",
		}
		if got := describe(spansOf(exp, replay.SpanContext.TraceID())); !slices.Equal(got, want) {
			return fmt.Errorf("replay trace\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return nil
	})
	if mg, _ := in.views(poisoned); mg != 1 {
		t.Fatalf("movie-group counts %v views, want 1", mg)
	}
	// The operations page's recent events show each event's trace id: the
	// replayed view's is the replay's trace.
	var replayTrace string
	for _, s := range exp.GetSpans() {
		if s.Name == "process movie-group.replay" {
			replayTrace = s.SpanContext.TraceID().String()
		}
	}
	found := false
	for _, e := range in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/events/recent", nil)["events"].([]any) {
		e := e.(map[string]any)
		if e["topic"] == events.ReplayTopic(events.GroupMovie) && e["outcome"] == "applied" {
			found = e["traceId"] == replayTrace
		}
	}
	if !found {
		t.Fatalf("no recent event of %s with trace id %s", events.ReplayTopic(events.GroupMovie), replayTrace)
	}
}
