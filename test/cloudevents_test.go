package test_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	cekafka "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/reelay/reelay/events"
)

// sdkView is a movie.viewed event written by the official CloudEvents SDK
// and its Kafka (Sarama) binding, as a foreign producer would: the record's
// key, headers and value.
func sdkView(t *testing.T, id, source, movieID, userID, contentType string, base64, structured bool) (string, map[string]string, []byte) {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource(source)
	e.SetType(events.TypeMovieViewed)
	e.SetExtension("partitionkey", movieID)
	var data any = map[string]any{"movieId": movieID, "userId": userID}
	if base64 {
		data = mustJSON(data) // bytes: the SDK writes data_base64 in structured mode
	}
	if err := e.SetData(contentType, data); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if structured {
		ctx = binding.WithForceStructured(ctx)
	}
	pm := &sarama.ProducerMessage{}
	if err := cekafka.WriteProducerMessage(ctx, binding.ToMessage(&e), pm); err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	for _, h := range pm.Headers {
		headers[string(h.Key)] = string(h.Value)
	}
	key, _ := pm.Key.Encode()
	value, _ := pm.Value.Encode()
	return string(key), headers, value
}

// TestCloudEventsSDKInterop runs the SDK's events through the whole app and
// reads the app's events with the SDK:
//   - events of four sources that share one id, in binary and structured
//     mode, with data_base64, a +json type and an upper-case content type,
//     are all applied: the id is unique per source only;
//   - the same event (source and id) again, in the other mode, is not;
//   - an event Reelay publishes is a valid CloudEvent to the SDK, with its
//     correlation id as the correlationid extension.
func TestCloudEventsSDKInterop(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID, id := uid("ce"), uid("shared-id")

	key, h, v := sdkView(t, id, "sdk/a", movieID, "u-a", event.ApplicationJSON, false, false)
	in.produce(events.TopicMovieViews, key, v, h)
	key, h, v = sdkView(t, id, "sdk/b", movieID, "u-b", event.ApplicationJSON, true, true)
	if !strings.Contains(string(v), `"data_base64"`) {
		t.Fatalf("the SDK wrote no data_base64: %s", v)
	}
	in.produce(events.TopicMovieViews, key, v, h)
	key, h, v = sdkView(t, id, "sdk/c", movieID, "u-c", "application/vnd.reelay.view+json; charset=utf-8", false, true)
	h[events.HeaderContentType] = strings.ToUpper(h[events.HeaderContentType])
	in.produce(events.TopicMovieViews, key, v, h)
	// sdk/a's event again, now in structured mode: a duplicate.
	key, h, v = sdkView(t, id, "sdk/a", movieID, "u-a", event.ApplicationJSON, false, true)
	in.produce(events.TopicMovieViews, key, v, h)
	// Last on the same partition: once it counts, all of the above were handled.
	key, h, v = sdkView(t, id, "sdk/d", movieID, "u-d", "APPLICATION/JSON", true, false)
	in.produce(events.TopicMovieViews, key, v, h)

	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 4}))
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 4, "uniqueViewers": 4}))
	if dead := in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID); len(dead) != 0 {
		t.Fatalf("an SDK event was dead-lettered: %v", headerMap(dead[0]))
	}

	// Reelay's own event, read with the SDK.
	code, out := in.do(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u-e"},
		map[string]string{"X-Correlation-ID": "trace-ce"})
	if code != http.StatusAccepted {
		t.Fatalf("%d %v", code, out)
	}
	eventID := out.(map[string]any)["eventId"]
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 5}))
	var found bool
	for _, rec := range in.readTopic(events.TopicMovieViews, movieID) {
		if headerMap(rec)[events.HeaderID] != eventID {
			continue
		}
		found = true
		got, err := binding.ToEvent(context.Background(), cekafka.NewMessageFromConsumerMessage(rec))
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("Reelay's record is not a valid CloudEvent: %v", err)
		}
		if got.Type() != events.TypeMovieViewed || got.DataContentType() != "application/json" ||
			fmt.Sprint(got.Extensions()["correlationid"]) != "trace-ce" || !strings.Contains(string(got.Data()), `"userId":"u-e"`) {
			t.Fatalf("SDK read %s", got)
		}
	}
	if !found {
		t.Fatalf("no record with ce_id %v", eventID)
	}
}

// TestForgedAndOversizedAttributesAreDeadLetteredAtOnce: an 8000-byte ce_id
// is malformed, so it reaches the dead-letter topic at the first attempt; a
// record that brings its own dlq_ headers (a maximal attempt count, a forged
// error) gets Reelay's values, not its own.
func TestForgedAndOversizedAttributesAreDeadLetteredAtOnce(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("bounds")
	data := mustJSON(map[string]any{"movieId": movieID, "userId": "u"})
	long := binary(strings.Repeat("i", 8000), events.TypeMovieViewed)
	in.produce(events.TopicMovieViews, movieID, data, long)
	forged := binary(uid("forged"), events.TypeMovieViewed)
	forged[events.HeaderType] = "" // malformed: type is required
	forged[events.DLQAttempts] = "9223372036854775807"
	forged[events.DLQError] = "forged"
	in.produce(events.TopicMovieViews, movieID, data, forged)

	var dead []*sarama.ConsumerMessage
	eventually(t, wait, func() error {
		if dead = in.readTopic(events.DeadLetterTopic(events.GroupMovie), movieID); len(dead) < 2 {
			return fmt.Errorf("%d dead letters", len(dead))
		}
		return nil
	})
	for i, want := range []string{"id is longer than 256 bytes", "type is required"} {
		h := headerMap(dead[i])
		if h[events.DLQAttempts] != "1" || !strings.Contains(h[events.DLQError], want) || len(h[events.DLQError]) > 1000 {
			t.Errorf("dead letter %d: attempts %s, error %.300q; want 1 attempt and %q", i, h[events.DLQAttempts], h[events.DLQError], want)
		}
	}
}
