package test_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/movie"
)

// binary returns CloudEvents binary-mode headers for an event.
func binary(id, eventType string) map[string]string {
	return map[string]string{
		events.HeaderSpecVersion: "1.0", events.HeaderID: id, events.HeaderType: eventType,
		events.HeaderSource: "test", events.HeaderContentType: "application/json",
		events.HeaderTime: time.Now().UTC().Format(time.RFC3339Nano),
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestPoisonRecordIsDeadLetteredAndPartitionMovesOn produces malformed
// records straight to movie-views and expects them in movie-group.dlq with
// their metadata and original bytes, while later valid events on the same
// partition are applied.
func TestPoisonRecordIsDeadLetteredAndPartitionMovesOn(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("poison")
	notJSON := []byte("{not json")
	part := in.produce(events.TopicMovieViews, movieID, notJSON, binary(uuid.NewString(), events.TypeMovieViewed))
	missingUser := mustJSON(map[string]any{"movieId": movieID})
	in.produce(events.TopicMovieViews, movieID, missingUser, binary(uuid.NewString(), events.TypeMovieViewed))
	noHeaders := []byte(`{"movieId":"` + movieID + `","userId":"x"}`)
	in.produce(events.TopicMovieViews, movieID, noHeaders, nil)
	for range 2 {
		in.mustAccept(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": uid("u")})
	}
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 2}))
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 2}))

	var dead []*sarama.ConsumerMessage
	eventually(t, wait, func() error {
		dead = in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID)
		if len(dead) != 3 {
			return fmt.Errorf("%d dead letters, want 3", len(dead))
		}
		return nil
	})
	for i, want := range []struct {
		value []byte
		err   string
	}{{notJSON, "data is not a JSON object"}, {missingUser, "userId is required"}, {noHeaders, "specversion"}} {
		m := dead[i]
		h := headerMap(m)
		if string(m.Value) != string(want.value) || string(m.Key) != movieID {
			t.Fatalf("dead letter %d: key %q value %q", i, m.Key, m.Value)
		}
		if !strings.Contains(h[events.DLQError], want.err) || h[events.DLQOriginalTopic] != events.TopicMovieViews ||
			h[events.DLQGroup] != events.GroupMovie || h[events.DLQHandler] != "movie:movie-views" ||
			h[events.DLQPartition] != fmt.Sprint(part) || h[events.DLQOffset] == "" || h[events.DLQKey] != movieID ||
			h[events.DLQAttempts] != "1" || h[events.DLQFirstFailure] == "" || h[events.DLQLastFailure] == "" || h[events.DLQTimestamp] == "" {
			t.Fatalf("dead letter %d headers: %v", i, h)
		}
		if i < 2 && h[events.HeaderType] != events.TypeMovieViewed {
			t.Fatalf("original headers lost: %v", h)
		}
	}
	// The analytics group dead-letters the same records into its own topic.
	eventually(t, wait, func() error {
		if n := len(in.readTopic(events.DeadLetterTopic(events.GroupAnalytics), movieID)); n != 3 {
			return fmt.Errorf("%d analytics dead letters", n)
		}
		return nil
	})
}

// flakyMovies fails CountViews for one movie a fixed number of times.
type flakyMovies struct {
	movie.Store
	movieID string
	mu      sync.Mutex
	fails   int
	calls   int
}

func (f *flakyMovies) CountViews(ctx context.Context, views []movie.ViewCount) error {
	if slices.ContainsFunc(views, func(v movie.ViewCount) bool { return v.MovieID == f.movieID }) {
		f.mu.Lock()
		f.calls++
		fail := f.calls <= f.fails
		f.mu.Unlock()
		if fail {
			return errors.New("database is briefly unavailable")
		}
	}
	return f.Store.CountViews(ctx, views)
}

// TestTransientFailureIsRetried makes the store fail the first attempts; the
// event is applied once and not dead-lettered.
func TestTransientFailureIsRetried(t *testing.T) {
	parallel(t)
	movieID := uid("flaky")
	flaky := &flakyMovies{movieID: movieID, fails: 2}
	in := start(t, testConfig(t), fx.Decorate(func(s movie.Store) movie.Store { flaky.Store = s; return flaky }))
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u"})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 1}))
	flaky.mu.Lock()
	calls := flaky.calls
	flaky.mu.Unlock()
	if calls != 3 {
		t.Fatalf("CountViews called %d times, want 3 (2 failures + 1 success)", calls)
	}
	if dead := in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID); len(dead) != 0 {
		t.Fatalf("retried event was dead-lettered: %v", headerMap(dead[0]))
	}
}

// TestExhaustedRetriesAreDeadLettered keeps the store failing: after the
// configured retries the event is dead-lettered with its attempt count.
func TestExhaustedRetriesAreDeadLettered(t *testing.T) {
	parallel(t)
	movieID := uid("broken")
	flaky := &flakyMovies{movieID: movieID, fails: 1 << 30}
	cfg := testConfig(t)
	in := start(t, cfg, fx.Decorate(func(s movie.Store) movie.Store { flaky.Store = s; return flaky }))
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u"})
	var dead []*sarama.ConsumerMessage
	eventually(t, wait, func() error {
		if dead = in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID); len(dead) != 1 {
			return fmt.Errorf("%d dead letters", len(dead))
		}
		return nil
	})
	h := headerMap(dead[0])
	first, err1 := time.Parse(time.RFC3339Nano, h[events.DLQFirstFailure])
	last, err2 := time.Parse(time.RFC3339Nano, h[events.DLQLastFailure])
	if h[events.DLQAttempts] != fmt.Sprint(cfg.RetryMax+1) || !strings.Contains(h[events.DLQError], "briefly unavailable") ||
		err1 != nil || err2 != nil || !first.Before(last) {
		t.Fatalf("dead letter headers: %v", h)
	}
	// The analytics group was unaffected and counted the view.
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 1}))
}

// TestSameEventTwiceCountsOnce delivers one event id twice, in binary and
// structured mode, and retries a POST with the same Idempotency-Key.
func TestSameEventTwiceCountsOnce(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("dup")
	id := uuid.NewString()
	data := map[string]any{"movieId": movieID, "userId": "u1", "watchedSeconds": 7}
	in.produce(events.TopicMovieViews, movieID, mustJSON(data), binary(id, events.TypeMovieViewed))
	structured := mustJSON(map[string]any{"specversion": "1.0", "id": id, "type": events.TypeMovieViewed,
		"source": "test", "datacontenttype": "application/json", "data": data})
	in.produce(events.TopicMovieViews, movieID, structured, map[string]string{events.HeaderContentType: events.ContentTypeCloudEvent})

	key := map[string]string{"Idempotency-Key": uid("key")}
	var eventIDs []string
	for range 2 {
		code, body := in.do(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u2", "watchedSeconds": 3}, key)
		if code != http.StatusAccepted {
			t.Fatalf("%d %v", code, body)
		}
		eventIDs = append(eventIDs, body.(map[string]any)["eventId"].(string))
	}
	if eventIDs[0] != eventIDs[1] {
		t.Fatalf("same Idempotency-Key gave event ids %v", eventIDs)
	}
	// A marker after the duplicates on the same key: once it is counted, the
	// duplicates before it in the partition have been processed too.
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u3"})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 3}))
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 3, "uniqueViewers": 3, "watchedSeconds": 10}))
	if dead := in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID); len(dead) != 0 {
		t.Fatalf("duplicate was dead-lettered: %v", headerMap(dead[0]))
	}
	// The record sent twice is a duplicate for the inbox; the POST retried
	// with its key is answered from the idempotency store and not published again.
	if n := metricValue(t, in, `reelay_events_total{group="movie-group",handler="movie:movie-views",outcome="duplicate"}`); n != 1 {
		t.Fatalf("duplicates counted: %v, want 1", n)
	}
}

// TestUnknownTypeIsAcknowledged: an event type no route handles is counted
// and skipped, and the partition moves on.
func TestUnknownTypeIsAcknowledged(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("future")
	for range 2 {
		in.produce(events.TopicMovieEvents, movieID, mustJSON(map[string]any{"movieId": movieID, "stars": 3}), binary(uuid.NewString(), "movie.rated"))
	}
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movieID, "title": "Later"})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "Later"}))
	if n := metricValue(t, in, `reelay_unknown_event_types_total{group="movie-group"}`); n != 2 {
		t.Fatalf("unknown types counted %v, want 2", n)
	}
	if dead := in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID); len(dead) != 0 {
		t.Fatal("unknown type was dead-lettered")
	}
}

// TestPatternTopicCreatedAtRunTime creates notification-webhook while the
// service runs and expects notif-group to consume it without a restart.
func TestPatternTopicCreatedAtRunTime(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	topic := events.NotificationTopic(uid("webhook"))
	admin, err := sarama.NewClusterAdmin(in.brokers, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: in.cfg.TopicReplication}, false); err != nil {
		t.Fatal(err)
	}
	user := uid("user")
	channel, _ := events.ChannelOf(topic)
	structured := mustJSON(map[string]any{"specversion": "1.0", "id": uuid.NewString(), "type": events.TypeNotificationRequested,
		"source": "billing", "data": map[string]any{"notificationId": "n-1", "userId": user, "channel": channel, "subject": "Invoice", "body": "Paid"}})
	in.produce(topic, user, structured, map[string]string{events.HeaderContentType: events.ContentTypeCloudEvent + "; charset=utf-8"})
	in.waitForDelivery(user, func(d map[string]any) error {
		if d["notificationId"] != "n-1" || d["channel"] != channel || d["status"] != "delivered" || d["subject"] != "Invoice" {
			return fmt.Errorf("delivery %v", d)
		}
		return nil
	})
}

// metricValue scrapes /metrics for one sample line.
func metricValue(t *testing.T, in *instance, series string) float64 {
	t.Helper()
	resp, err := http.Get(in.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// panickyMovies panics in CountViews for one movie after its write began.
type panickyMovies struct {
	movie.Store
	movieID string
}

func (p panickyMovies) CountViews(ctx context.Context, views []movie.ViewCount) error {
	err := p.Store.CountViews(ctx, views)
	if slices.ContainsFunc(views, func(v movie.ViewCount) bool { return v.MovieID == p.movieID }) {
		panic("handler bug")
	}
	return err
}

// TestPanickingHandlerIsDeadLettered: a handler that panics mid-transaction
// has its writes rolled back, gives the writer back, and its event is
// dead-lettered after the retries; other events keep flowing.
func TestPanickingHandlerIsDeadLettered(t *testing.T) {
	parallel(t)
	bad, good := uid("panic"), uid("fine")
	in := start(t, testConfig(t), fx.Decorate(func(s movie.Store) movie.Store { return panickyMovies{Store: s, movieID: bad} }))
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+bad+"/views", map[string]any{"userId": "u"})
	var dead []*sarama.ConsumerMessage
	eventually(t, wait, func() error {
		if dead = in.readTopic(events.DeadLetterTopic(events.GroupMovie), bad); len(dead) != 1 {
			return fmt.Errorf("%d dead letters", len(dead))
		}
		return nil
	})
	if h := headerMap(dead[0]); !strings.Contains(h[events.DLQError], "handler bug") || h[events.DLQAttempts] != fmt.Sprint(in.cfg.RetryMax+1) {
		t.Fatalf("dead letter headers: %v", h)
	}
	for range 3 {
		in.mustAccept(http.MethodPost, "/api/v1/movies/"+good+"/views", map[string]any{"userId": "u"})
	}
	in.waitFor("/api/v1/movies/"+good, fields(map[string]any{"views": 3}))
	if code, body := in.do(http.MethodGet, "/api/v1/movies/"+bad, nil, nil); code != http.StatusNotFound {
		t.Fatalf("the panicking event's write was kept: %d %v", code, body)
	}
}
