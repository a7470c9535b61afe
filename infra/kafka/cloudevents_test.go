package kafka_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
	cekafka "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// These tests hold Reelay's CloudEvents Kafka binding (events.Decode and
// Headers, through the marshaler) against the official Go SDK and its Sarama
// binding: what Reelay writes, the SDK reads as a valid event; what the SDK
// writes, Reelay reads.

// capture is a record sender at the edge that keeps the last record.
type capture struct{ pm *sarama.ProducerMessage }

func (c *capture) Send(_ context.Context, pm *sarama.ProducerMessage, _ time.Duration) error {
	c.pm = pm
	return nil
}

// delivered turns a record as produced into the record a consumer receives.
func delivered(t *testing.T, pm *sarama.ProducerMessage) *sarama.ConsumerMessage {
	t.Helper()
	rec := &sarama.ConsumerMessage{Topic: pm.Topic, Partition: 2, Offset: 40}
	for i := range pm.Headers {
		rec.Headers = append(rec.Headers, &pm.Headers[i])
	}
	var err error
	if pm.Key != nil {
		if rec.Key, err = pm.Key.Encode(); err != nil {
			t.Fatal(err)
		}
	}
	if pm.Value != nil {
		if rec.Value, err = pm.Value.Encode(); err != nil {
			t.Fatal(err)
		}
	}
	return rec
}

// TestReelayRecordsAreValidCloudEvents: a record Reelay publishes is a valid
// binary-mode CloudEvent to the SDK, correlation id included as the
// correlationid extension.
func TestReelayRecordsAreValidCloudEvents(t *testing.T) {
	t.Parallel()
	e, pm := publishedView(t)
	m := cekafka.NewMessageFromConsumerMessage(delivered(t, pm))
	if enc := m.ReadEncoding(); enc != binding.EncodingBinary {
		t.Fatalf("SDK reads encoding %v, want binary", enc)
	}
	got, err := binding.ToEvent(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("not a valid CloudEvent: %v", err)
	}
	if got.ID() != e.ID || got.Source() != "reelay/api" || got.Type() != events.TypeMovieViewed || got.SpecVersion() != "1.0" ||
		!got.Time().Equal(e.Time) || got.DataContentType() != "application/json" || string(got.Data()) != string(e.Data) {
		t.Fatalf("SDK read %s", got)
	}
	if ext := got.Extensions()["correlationid"]; ext != "trace-1" {
		t.Fatalf("correlationid extension = %v (extensions %v)", ext, got.Extensions())
	}
	if string(m.Value) != string(e.Data) || string(delivered(t, pm).Key) != "heat" {
		t.Fatalf("value %s, key %s", m.Value, delivered(t, pm).Key)
	}
}

// sdkEvent is a movie.viewed event built with the SDK.
func sdkEvent(t *testing.T, source, contentType string, data any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("e-42")
	e.SetSource(source)
	e.SetType(events.TypeMovieViewed)
	e.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	e.SetExtension("correlationid", "trace-9")
	e.SetExtension("partitionkey", "heat") // the binding's key mapping
	if err := e.SetData(contentType, data); err != nil {
		t.Fatal(err)
	}
	return e
}

// sdkRecord writes e with the SDK's Sarama binding, in structured mode when
// structured is set.
func sdkRecord(t *testing.T, e event.Event, structured bool) *sarama.ProducerMessage {
	t.Helper()
	ctx := context.Background()
	if structured {
		ctx = binding.WithForceStructured(ctx)
	}
	pm := &sarama.ProducerMessage{Topic: events.TopicMovieViews}
	if err := cekafka.WriteProducerMessage(ctx, binding.ToMessage(&e), pm); err != nil {
		t.Fatal(err)
	}
	return pm
}

// header returns pm's header k.
func header(pm *sarama.ProducerMessage, k string) string {
	for _, h := range pm.Headers {
		if string(h.Key) == k {
			return string(h.Value)
		}
	}
	return ""
}

// TestSDKEventsAreDecoded: events the SDK writes, in binary and structured
// mode, with data as JSON, as data_base64, with a +json type and in upper
// case, decode to the same envelope, keyed for deduplication by source and id.
func TestSDKEventsAreDecoded(t *testing.T) {
	t.Parallel()
	data := map[string]any{"movieId": "heat", "userId": "u1"}
	raw, _ := json.Marshal(data)
	upperFormat := func(pm *sarama.ProducerMessage) *sarama.ProducerMessage {
		for i, h := range pm.Headers {
			if string(h.Key) == events.HeaderContentType {
				pm.Headers[i].Value = []byte(strings.ToUpper(string(h.Value)) + "; charset=UTF-8")
			}
		}
		return pm
	}
	cases := []struct {
		name string
		pm   *sarama.ProducerMessage
		// in checks how the SDK wrote the record, so the case tests what it says.
		in func(pm *sarama.ProducerMessage) bool
	}{
		{"binary JSON", sdkRecord(t, sdkEvent(t, "sdk/test", event.ApplicationJSON, data), false),
			func(pm *sarama.ProducerMessage) bool { return header(pm, "content-type") == "application/json" }},
		{"binary JSON in upper case with parameters", sdkRecord(t, sdkEvent(t, "sdk/test", "APPLICATION/JSON; charset=UTF-8", raw), false),
			func(pm *sarama.ProducerMessage) bool {
				return header(pm, "content-type") == "APPLICATION/JSON; charset=UTF-8"
			}},
		{"binary +json", sdkRecord(t, sdkEvent(t, "sdk/test", "application/vnd.reelay.view+json", data), false),
			func(pm *sarama.ProducerMessage) bool {
				return header(pm, "content-type") == "application/vnd.reelay.view+json"
			}},
		{"structured JSON", sdkRecord(t, sdkEvent(t, "sdk/test", event.ApplicationJSON, data), true),
			func(pm *sarama.ProducerMessage) bool {
				v, _ := pm.Value.Encode()
				return strings.Contains(string(v), `"data":{`)
			}},
		{"structured data_base64", sdkRecord(t, sdkEvent(t, "sdk/test", event.ApplicationJSON, raw), true),
			func(pm *sarama.ProducerMessage) bool {
				v, _ := pm.Value.Encode()
				return strings.Contains(string(v), `"data_base64":`)
			}},
		{"structured data_base64 with datacontenttype in upper case", sdkRecord(t, sdkEvent(t, "sdk/test", "APPLICATION/JSON", raw), true),
			func(pm *sarama.ProducerMessage) bool {
				v, _ := pm.Value.Encode()
				return strings.Contains(string(v), `"APPLICATION/JSON"`)
			}},
		{"structured +json", sdkRecord(t, sdkEvent(t, "sdk/test", "application/vnd.reelay.view+json; charset=utf-8", data), true),
			func(pm *sarama.ProducerMessage) bool {
				v, _ := pm.Value.Encode()
				return strings.Contains(string(v), `+json; charset=utf-8"`)
			}},
		{"structured, content-type in upper case", upperFormat(sdkRecord(t, sdkEvent(t, "sdk/test", event.ApplicationJSON, data), true)),
			func(pm *sarama.ProducerMessage) bool {
				return header(pm, "content-type") == "APPLICATION/CLOUDEVENTS+JSON; charset=UTF-8"
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.in(tc.pm) {
				t.Fatalf("the SDK did not write what the case is about: %v", tc.pm.Headers)
			}
			rec := delivered(t, tc.pm)
			msg, err := kafka.Marshaler{}.Unmarshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := events.Decode(msg.Metadata, string(rec.Key), msg.Payload)
			if err != nil {
				t.Fatal(err)
			}
			var gotData map[string]any
			if err := json.Unmarshal(got.Data, &gotData); err != nil || !reflect.DeepEqual(gotData, data) {
				t.Fatalf("data %s", got.Data)
			}
			if got.ID != "e-42" || got.Source != "sdk/test" || got.Type != events.TypeMovieViewed || got.Key != "heat" ||
				got.CorrelationID != "trace-9" || !got.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Fatalf("decoded %+v", got)
			}
			if msg.UUID != events.DedupID("sdk/test", "e-42") {
				t.Fatalf("message UUID %s is not the dedup id of (sdk/test, e-42)", msg.UUID)
			}
		})
	}
}

// TestSDKNonJSONEventsAreMalformed: data Reelay cannot read as JSON is a
// permanent error naming its type, in both modes.
func TestSDKNonJSONEventsAreMalformed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		pm   *sarama.ProducerMessage
		want string
	}{
		{"binary text", sdkRecord(t, sdkEvent(t, "sdk/test", "text/plain", `{"movieId":"heat","userId":"u1"}`), false), `"text/plain"`},
		{"binary XML", sdkRecord(t, sdkEvent(t, "sdk/test", "application/xml", []byte(`<view/>`)), false), `"application/xml"`},
		{"structured XML", sdkRecord(t, sdkEvent(t, "sdk/test", "application/xml", []byte(`<view/>`)), true), `"application/xml"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := delivered(t, tc.pm)
			msg, err := kafka.Marshaler{}.Unmarshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			_, err = events.Decode(msg.Metadata, string(rec.Key), msg.Payload)
			if !events.IsPermanent(err) || !strings.Contains(err.Error(), tc.want+" is not JSON") {
				t.Fatalf("err = %v, want a permanent error naming %s", err, tc.want)
			}
		})
	}
}

// TestUnmarshalKeysEventsBySourceAndID: the message UUID (the inbox key) is
// the same for one event however delivered, different for two sources'
// events that share an id, and bounded.
func TestUnmarshalKeysEventsBySourceAndID(t *testing.T) {
	t.Parallel()
	data := map[string]any{"movieId": "heat", "userId": "u1"}
	uuidOf := func(pm *sarama.ProducerMessage) string {
		msg, err := kafka.Marshaler{}.Unmarshal(delivered(t, pm))
		if err != nil {
			t.Fatal(err)
		}
		return msg.UUID
	}
	a := uuidOf(sdkRecord(t, sdkEvent(t, "sdk/a", event.ApplicationJSON, data), false))
	if again := uuidOf(sdkRecord(t, sdkEvent(t, "sdk/a", event.ApplicationJSON, data), true)); again != a {
		t.Fatalf("one event in binary and structured mode: %s and %s", a, again)
	}
	if b := uuidOf(sdkRecord(t, sdkEvent(t, "sdk/b", event.ApplicationJSON, data), false)); b == a {
		t.Fatal("two sources' events with the same id share a key: one would be dropped as a duplicate")
	}
	long := sdkEvent(t, "sdk/a", event.ApplicationJSON, data)
	long.SetID(strings.Repeat("x", 8000))
	if id := uuidOf(sdkRecord(t, long, false)); len(id) != 36 {
		t.Fatalf("key of %d bytes", len(id))
	}
	noID := &sarama.ProducerMessage{Topic: "movie-views", Value: sarama.StringEncoder(`{}`)}
	if id := uuidOf(noID); id != "movie-views/2/40" {
		t.Fatalf("a record without id is keyed %q, want its position", id)
	}
}

// TestUnmarshalDropsReservedHeaders: a record cannot bring Reelay's own
// metadata: dead-letter headers and the key entry are dropped, the rest kept.
func TestUnmarshalDropsReservedHeaders(t *testing.T) {
	t.Parallel()
	rec := &sarama.ConsumerMessage{Topic: "movie-views", Key: []byte("heat"), Value: []byte(`{}`)}
	for k, v := range map[string]string{
		events.DLQAttempts: "9223372036854775807", events.DLQError: "forged", events.DLQOriginalTopic: "elsewhere",
		"dlq_future_field": "x", kafka.MetadataKey: "other-key",
		events.HeaderID: "e1", events.HeaderSource: "s", "x-trace": "t", "dlqueue": "kept",
	} {
		rec.Headers = append(rec.Headers, &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	msg, err := kafka.Marshaler{}.Unmarshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := message.Metadata{events.HeaderID: "e1", events.HeaderSource: "s", "x-trace": "t", "dlqueue": "kept"}
	if !reflect.DeepEqual(msg.Metadata, want) {
		t.Fatalf("metadata %v, want %v", msg.Metadata, want)
	}
}

// TestReplayHeadersCountOnlyOnReplayTopics: a record on an ordinary topic
// cannot claim to be a replay (its replay count or original position); the
// same headers on a group's replay topic, which only Reelay writes, are kept.
func TestReplayHeadersCountOnlyOnReplayTopics(t *testing.T) {
	t.Parallel()
	headers := []kgo.RecordHeader{{Key: events.ReplayCount, Value: []byte("0")}, {Key: events.ReplayOfTopic, Value: []byte("movie-views")},
		{Key: events.HeaderID, Value: []byte("e1")}, {Key: events.HeaderSource, Value: []byte("s")}, {Key: events.DLQError, Value: []byte("x")}}
	for topic, want := range map[string]message.Metadata{
		"movie-views": {events.HeaderID: "e1", events.HeaderSource: "s"},
		events.ReplayTopic("movie-group"): {events.HeaderID: "e1", events.HeaderSource: "s",
			events.ReplayCount: "0", events.ReplayOfTopic: "movie-views"},
	} {
		msg, err := kafka.Marshaler{}.UnmarshalRecord(&kgo.Record{Topic: topic, Value: []byte(`{}`), Headers: headers})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(msg.Metadata, want) {
			t.Errorf("%s: metadata %v, want %v", topic, msg.Metadata, want)
		}
	}
}

// BenchmarkMarshal is the record of an event as the API publishes it.
func BenchmarkMarshal(b *testing.B) {
	e, _ := publishedView(b)
	msg := envelopeMessage(e)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (kafka.Marshaler{}).Marshal(events.TopicMovieViews, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishRecord: what Events.Publish builds per event, tracing off.
func BenchmarkPublishRecord(b *testing.B) {
	e, _ := publishedView(b)
	var out capture
	pub := kafka.NewEvents(&out, time.Second, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := pub.Publish(context.Background(), events.TopicMovieViews, e); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEventsWriteWhatTheMarshalerWrites: the record Events makes of an
// envelope is the record the marshaler makes of the Watermill message with
// the envelope's headers and key, so that the API's events, their
// dead-letter copies and their replays are alike on the wire.
func TestEventsWriteWhatTheMarshalerWrites(t *testing.T) {
	t.Parallel()
	e, pm := publishedView(t)
	want, err := kafka.Marshaler{}.Marshal(events.TopicMovieViews, envelopeMessage(e))
	if err != nil {
		t.Fatal(err)
	}
	headers := func(pm *sarama.ProducerMessage) map[string]string {
		h := map[string]string{}
		for _, rh := range pm.Headers {
			h[string(rh.Key)] = string(rh.Value)
		}
		if len(h) != len(pm.Headers) {
			t.Fatalf("a header repeats: %v", pm.Headers)
		}
		return h
	}
	if got, w := headers(pm), headers(want); !reflect.DeepEqual(got, w) || len(got) != 7 {
		t.Fatalf("headers %v, want %v (7)", got, w)
	}
	rec, wrec := delivered(t, pm), delivered(t, want)
	if pm.Topic != want.Topic || string(rec.Key) != "heat" || string(rec.Key) != string(wrec.Key) ||
		string(rec.Value) != string(wrec.Value) || string(rec.Value) != string(e.Data) {
		t.Fatalf("record %s %q %q, want %s %q %q", pm.Topic, rec.Key, rec.Value, want.Topic, wrec.Key, wrec.Value)
	}
}

// publishedView is a movie.viewed event with a correlation id and the
// record the API's publisher writes for it.
func publishedView(tb testing.TB) (events.Envelope, *sarama.ProducerMessage) {
	tb.Helper()
	e, err := events.New(events.TypeMovieViewed, "reelay/api", "heat", events.MovieViewed{MovieID: "heat", UserID: "u1"})
	if err != nil {
		tb.Fatal(err)
	}
	e.CorrelationID = "trace-1"
	var out capture
	if err := kafka.NewEvents(&out, time.Second, nil).Publish(context.Background(), events.TopicMovieViews, e); err != nil {
		tb.Fatal(err)
	}
	return e, out.pm
}

// envelopeMessage is the Watermill message of e: its headers as metadata,
// its key under MetadataKey.
func envelopeMessage(e events.Envelope) *message.Message {
	msg := message.NewMessage(e.ID, message.Payload(e.Data))
	msg.Metadata = e.Headers()
	msg.Metadata.Set(kafka.MetadataKey, e.Key)
	return msg
}
