package test_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/reelay/reelay/events"
)

// produceLarge writes one record with a producer that allows records up to
// the broker's limit (1 MiB + 12 bytes by default), as a foreign producer may.
func (in *instance) produceLarge(topic, key string, value []byte) {
	in.t.Helper()
	c := saramaConfig()
	c.Producer.MaxMessageBytes = 2 << 20
	p, err := sarama.NewSyncProducer(in.brokers, c)
	if err != nil {
		in.t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}); err != nil {
		in.t.Fatal(err)
	}
}

// TestOversizedPoisonRecordMovesOn: a malformed record of ~1 MiB, accepted
// by the broker but too large to dead-letter whole, goes to the dead-letter
// topic as a truncated copy that says so, and the valid event behind it on
// the same partition is applied. Before the fix the dead-letter publish
// failed and the partition was redelivered forever.
func TestOversizedPoisonRecordMovesOn(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("huge")
	poison := bytes.Repeat([]byte("x"), 1_048_450) // with the failure headers, over the producer's 1 MiB
	in.produceLarge(events.TopicMovieEvents, movieID, poison)
	created := mustJSON(map[string]any{"movieId": movieID, "title": "Behind the poison"})
	in.produce(events.TopicMovieEvents, movieID, created, binary(uuid.NewString(), events.TypeMovieCreated))
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "Behind the poison"}))

	dead := in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	h := headerMap(dead[0])
	sum := sha256.Sum256(poison)
	if h[events.DLQTruncated] != "true" || h[events.DLQOriginalSize] != strconv.Itoa(len(poison)) ||
		h[events.DLQOriginalSHA256] != hex.EncodeToString(sum[:]) || h[events.DLQOriginalTopic] != events.TopicMovieEvents ||
		h[events.DLQOffset] == "" || h[events.DLQPartition] == "" || h[events.DLQAttempts] != "1" {
		t.Fatalf("dead letter headers: %v", h)
	}
	if len(dead[0].Value) == 0 || len(dead[0].Value) > 64<<10 || !bytes.HasPrefix(poison, dead[0].Value) {
		t.Fatalf("truncated value of %d bytes is not a prefix of the original", len(dead[0].Value))
	}
	if n := metricValue(t, in, `reelay_events_total{group="movie-group",handler="movie:movie-events",outcome="dead_lettered"}`); n != 1 {
		t.Fatalf("dead_lettered = %v, want 1", n)
	}
}

// TestUndeliverableDeadLetterIsReported: when the dead-letter topic refuses
// even the truncated copy, the record is counted as dead_letter_failed (never
// dead_lettered), its partition is reported stuck in the metric and in
// /readyz's body, and once the topic accepts records again the partition
// moves on and the report clears.
func TestUndeliverableDeadLetterIsReported(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	admin, err := sarama.NewClusterAdmin(in.brokers, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() }) // after the limit is restored below
	dlq := events.DeadLetterTopic(events.GroupMovie)
	limit := func(v string) {
		t.Helper()
		if err := admin.AlterConfig(sarama.TopicResource, dlq, map[string]*string{"max.message.bytes": &v}, false); err != nil {
			t.Fatal(err)
		}
	}
	limit("64") // smaller than any record
	t.Cleanup(func() { limit("1048588") })

	movieID := uid("stuck")
	in.produce(events.TopicMovieEvents, movieID, []byte("not json"), binary(uuid.NewString(), events.TypeMovieCreated))
	var partition float64
	eventually(t, wait, func() error {
		_, body := in.do(http.MethodGet, "/readyz", nil, nil)
		b, _ := body.(map[string]any)
		stuck, _ := b["stuck"].([]any)
		if b["status"] != "degraded" || len(stuck) != 1 {
			return fmt.Errorf("readyz %v", body)
		}
		s := stuck[0].(map[string]any)
		if s["group"] != events.GroupMovie || s["topic"] != events.TopicMovieEvents || s["error"] == "" {
			return fmt.Errorf("stuck %v", s)
		}
		partition = s["partition"].(float64)
		return nil
	})
	series := fmt.Sprintf(`reelay_partition_stuck{group="movie-group",partition="%d",reason="dead_letter_failed",topic="movie-events"}`, int(partition))
	if v := metricValue(t, in, series); v != 1 {
		t.Fatalf("%s = %v, want 1", series, v)
	}
	outcome := func(o string) float64 {
		return metricValue(t, in, `reelay_events_total{group="movie-group",handler="movie:movie-events",outcome="`+o+`"}`)
	}
	eventually(t, wait, func() error {
		if failed, dead := outcome("dead_letter_failed"), outcome("dead_lettered"); failed < 1 || dead != 0 {
			return fmt.Errorf("dead_letter_failed=%v dead_lettered=%v", failed, dead)
		}
		return nil
	})

	limit("1048588")
	eventually(t, 45*time.Second, func() error {
		if n := len(in.readTopic(dlq, movieID)); n != 1 {
			return fmt.Errorf("%d dead letters", n)
		}
		if v := metricValue(t, in, series); v != 0 {
			return fmt.Errorf("still stuck: %v", v)
		}
		return nil
	})
	_, body := in.do(http.MethodGet, "/readyz", nil, nil)
	if b, _ := body.(map[string]any); b["status"] != "ready" || b["stuck"] != nil {
		t.Fatalf("readyz after recovery: %v", body)
	}
	if outcome("dead_lettered") != 1 {
		t.Fatalf("dead_lettered = %v, want 1", outcome("dead_lettered"))
	}
}

// TestInvalidDataFromProducersIsDeadLetteredAtOnce: events that pass JSON
// decoding but break the bounds every store needs (a NUL byte, a year no
// column holds) are dead-lettered at the first attempt, and the notifier is
// never called for them.
func TestInvalidDataFromProducersIsDeadLetteredAtOnce(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID, user := uid("nul"), uid("nul-user")
	in.produce(events.TopicMovieEvents, movieID, mustJSON(map[string]any{"movieId": movieID, "title": "a\x00b"}),
		binary(uuid.NewString(), events.TypeMovieCreated))
	in.produce(events.TopicMovieEvents, movieID, mustJSON(map[string]any{"movieId": movieID, "title": "t", "year": 3000000000}),
		binary(uuid.NewString(), events.TypeMovieCreated))
	in.produce(events.NotificationTopic(events.ChannelEmail), user,
		mustJSON(map[string]any{"userId": user, "channel": "email", "subject": "\x00", "body": "b"}),
		binary(uuid.NewString(), events.TypeNotificationRequested))
	in.produce(events.TopicMovieEvents, movieID, mustJSON(map[string]any{"movieId": movieID, "title": "Fine"}),
		binary(uuid.NewString(), events.TypeMovieCreated))
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "Fine"}))
	eventually(t, wait, func() error {
		dead := append(in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID),
			in.readTopic(events.DeadLetterTopic(events.GroupNotification), user)...)
		if len(dead) != 3 {
			return fmt.Errorf("%d dead letters, want 3", len(dead))
		}
		for _, d := range dead {
			if h := headerMap(d); h[events.DLQAttempts] != "1" {
				return fmt.Errorf("dead letter after %s attempts: %v", h[events.DLQAttempts], h)
			}
		}
		return nil
	})
	if list, err := in.getJSON("/api/v1/users/" + user + "/notifications"); err != nil || len(list.([]any)) != 0 {
		t.Fatalf("notifier was called: %v %v", list, err)
	}
}

// TestEventWithoutTimeGetsRecordTimestamp: a CloudEvent without time is
// stamped with its record's timestamp, not year 1.
func TestEventWithoutTimeGetsRecordTimestamp(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("notime")
	before := time.Now().Add(-time.Minute)
	headers := binary(uuid.NewString(), events.TypeMovieCreated)
	delete(headers, events.HeaderTime)
	in.produce(events.TopicMovieEvents, movieID, mustJSON(map[string]any{"movieId": movieID, "title": "Timeless"}), headers)
	m := in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "Timeless"}))
	at, err := time.Parse(time.RFC3339Nano, m["updatedAt"].(string))
	if err != nil || at.Before(before) || at.After(time.Now().Add(time.Minute)) {
		t.Fatalf("updatedAt %v (%v), want the record's timestamp", m["updatedAt"], err)
	}
}

// TestLabelsStayBounded: random HTTP methods, paths and event types do not
// become metric labels.
func TestLabelsStayBounded(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 50 {
		method := "M" + strings.Repeat("X", 200) + strconv.Itoa(i)
		req, _ := http.NewRequest(method, in.base+"/api/v1/"+uid("nowhere"), nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
	movieID := uid("types")
	for i := range 50 {
		in.produce(events.TopicMovieEvents, movieID, mustJSON(map[string]any{"movieId": movieID}), binary(uuid.NewString(), fmt.Sprintf("movie.unknown%d", i)))
	}
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movieID, "title": "Marker"})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "Marker"}))
	if n := metricValue(t, in, `reelay_unknown_event_types_total{group="movie-group"}`); n != 50 {
		t.Fatalf("unknown types counted %v, want 50", n)
	}
	resp, err := http.Get(in.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, bad := range []string{"XXXXXXXX", "movie.unknown", "nowhere-"} {
		if strings.Contains(string(raw), bad) {
			t.Fatalf("/metrics holds %q from outside", bad)
		}
	}
	if !strings.Contains(string(raw), `method="other",route="unmatched"`) {
		t.Fatal("requests with unknown methods are not counted as other/unmatched")
	}
}

// TestSlowBodyGets408: a body that does not arrive within the read timeout
// is answered 408 with a JSON error that shows no addresses.
func TestSlowBodyGets408(t *testing.T) {
	parallel(t)
	cfg := testConfig(t)
	cfg.HTTPReadTimeout = 500 * time.Millisecond
	in := start(t, cfg)
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_, _ = fmt.Fprintf(conn, "POST /api/v1/movies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\":")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(raw), `"code":"request_timeout"`) ||
		strings.Contains(string(raw), "127.0.0.1") {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
}

// TestPatternTopicsAreCapped: notification topics past
// REELAY_MAX_PATTERN_TOPICS are not consumed, and are counted and logged;
// the HTTP API's own channels never count against the cap.
func TestPatternTopicsAreCapped(t *testing.T) {
	parallel(t)
	cfg := testConfig(t)
	cfg.MaxPatternTopics = 1
	if b := externalBrokers(); b != nil {
		// A shared cluster holds the notification topics earlier tests made.
		a, err := sarama.NewClusterAdmin(b, saramaConfig())
		if err != nil {
			t.Fatal(err)
		}
		topics, err := a.ListTopics()
		_ = a.Close()
		if err != nil {
			t.Fatal(err)
		}
		for name := range topics {
			if ch, ok := events.ChannelOf(name); ok && ch != events.ChannelEmail && ch != events.ChannelPush && ch != events.ChannelSMS {
				cfg.MaxPatternTopics++
			}
		}
	}
	in := start(t, cfg)
	admin, err := sarama.NewClusterAdmin(in.brokers, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	for range 3 {
		topic := events.NotificationTopic(uid("capped"))
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: cfg.TopicReplication}, false); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, wait, func() error {
		if v := metricValue(t, in, `reelay_pattern_topics_ignored{group="notif-group"}`); v != 2 {
			return fmt.Errorf("ignored = %v, want 2", v)
		}
		return nil
	})
	if code, body := in.do(http.MethodGet, "/readyz", nil, nil); code != http.StatusOK {
		t.Fatalf("readyz %d %v", code, body)
	}
	// The API's channels are consumed whatever the cap.
	user := uid("capped-user")
	in.mustAccept(http.MethodPost, "/api/v1/notifications", map[string]any{"userId": user, "channel": "sms", "body": "hi"})
	eventually(t, wait, func() error {
		list, err := in.getJSON("/api/v1/users/" + user + "/notifications")
		if err != nil || len(list.([]any)) != 1 {
			return fmt.Errorf("deliveries %v %v", list, err)
		}
		return nil
	})
}
