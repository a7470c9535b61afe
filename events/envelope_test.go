package events_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reelay/reelay/events"
)

func TestBinaryRoundTrip(t *testing.T) {
	t.Parallel()
	year := 1995
	e, err := events.New(events.TypeMovieCreated, "test", "m1", events.MovieCreated{MovieID: "m1", Title: "Heat", Year: &year})
	if err != nil {
		t.Fatal(err)
	}
	e.CorrelationID = "c-1"
	got, err := events.Decode(e.Headers(), e.Key, e.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.Type != e.Type || got.Source != "test" || got.Key != "m1" || got.CorrelationID != "c-1" ||
		!got.Time.Equal(e.Time) || string(got.Data) != `{"movieId":"m1","title":"Heat","year":1995}` {
		t.Fatalf("round trip: %+v", got)
	}
	if h := e.Headers(); h["ce_specversion"] != "1.0" || h["content-type"] != "application/json" ||
		h["ce_correlationid"] != "c-1" || len(h) != 7 {
		t.Fatalf("headers: %v", h)
	}
}

func TestStructuredMode(t *testing.T) {
	t.Parallel()
	value := `{"specversion":"1.0","id":"e1","type":"movie.viewed","source":"kcat","time":"2026-01-02T03:04:05Z",
		"datacontenttype":"application/json","correlationid":"c9","data":{"movieId":"m","userId":"u"}}`
	headers := map[string]string{"content-type": "application/cloudevents+json; charset=utf-8"}
	got, err := events.Decode(headers, "m", []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "e1" || got.Type != events.TypeMovieViewed || got.CorrelationID != "c9" ||
		!got.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || string(got.Data) != `{"movieId":"m","userId":"u"}` {
		t.Fatalf("%+v", got)
	}
	if id := events.IdentityOf(headers, []byte(value)); id != (events.Identity{ID: "e1", Source: "kcat", CorrelationID: "c9"}) {
		t.Fatalf("IdentityOf = %+v", id)
	}
}

// TestDecodeAccepts: each case is one way a conforming producer may write
// an event; all decode to the same attributes and JSON object.
func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	const data = `{"movieId":"m","userId":"u"}`
	b64 := base64.StdEncoding.EncodeToString([]byte(data))
	binary := func(contentType string) map[string]string {
		h := map[string]string{"ce_specversion": "1.0", "ce_id": "e1", "ce_type": "movie.viewed", "ce_source": "s"}
		if contentType != "" {
			h["content-type"] = contentType
		}
		return h
	}
	structured := func(contentType, dataContentType, dataField string) (map[string]string, string) {
		v := `{"specversion":"1.0","id":"e1","type":"movie.viewed","source":"s",` + dataField + `}`
		if dataContentType != "" {
			v = strings.Replace(v, `"source":"s",`, `"source":"s","datacontenttype":"`+dataContentType+`",`, 1)
		}
		return map[string]string{"content-type": contentType}, v
	}
	type input struct {
		headers map[string]string
		value   string
	}
	in := func(h map[string]string, v string) input { return input{h, v} }
	cases := []struct {
		name string
		input
	}{
		{"binary application/json", in(binary("application/json"), data)},
		{"binary without content-type is read as JSON", in(binary(""), data)},
		{"binary content-type in upper case with parameters", in(binary("Application/JSON; charset=UTF-8"), data)},
		{"binary +json content-type", in(binary("application/vnd.reelay.view+json"), data)},
		{"binary text/json", in(binary("text/json"), data)},
		{"structured data", in(structured("application/cloudevents+json", "", `"data":`+data))},
		{"structured content-type in upper case", in(structured("Application/CloudEvents+JSON; charset=utf-8", "", `"data":`+data))},
		{"structured data_base64", in(structured("application/cloudevents+json", "application/json", `"data_base64":"`+b64+`"`))},
		{"structured data_base64 without datacontenttype", in(structured("application/cloudevents+json", "", `"data_base64":"`+b64+`"`))},
		{"structured +json datacontenttype with parameters", in(structured("application/cloudevents+json", "application/vnd.foo+json; charset=utf-8", `"data":`+data))},
		{"structured datacontenttype in upper case", in(structured("application/cloudevents+json", "APPLICATION/JSON", `"data":`+data))},
		{"structured +json data as a string", in(structured("application/cloudevents+json", "application/vnd.foo+json", `"data":`+strconv.Quote(data)))},
		{"attributes of 256 bytes", in(map[string]string{"ce_specversion": "1.0", "ce_id": strings.Repeat("i", 256),
			"ce_type": strings.Repeat("t", 256), "ce_source": strings.Repeat("s", 256)}, data)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := events.Decode(tc.headers, "m", []byte(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID == "" || got.Source == "" || got.Type == "" || got.Key != "m" || string(got.Data) != data || !got.Time.IsZero() {
				t.Fatalf("%+v (data %s)", got, got.Data)
			}
		})
	}
}

// TestDedupID: events are deduplicated per (source, id), the pair
// CloudEvents makes unique.
func TestDedupID(t *testing.T) {
	t.Parallel()
	a := events.DedupID("reelay/api", "e1")
	if len(a) != 36 || a != events.DedupID("reelay/api", "e1") {
		t.Fatalf("DedupID must be a stable UUID: %q", a)
	}
	// Inbox rows hold these ids: they never change. (Both are
	// uuid.NewSHA1(namespace, "<len(source)>:<source><id>").)
	for _, c := range [][3]string{
		{"reelay/api", "e1", "6e84c7b8-03a9-51f9-8bb0-979953bc28bb"},
		{strings.Repeat("s", 200), "é", "e97ce107-3065-562d-8452-4512e4f899c2"},
	} {
		if got := events.DedupID(c[0], c[1]); got != c[2] {
			t.Errorf("DedupID(%.12q…, %q) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
	for _, other := range [][2]string{{"kcat", "e1"}, {"reelay/api", "e2"}, {"reelay/ap", "ie1"}, {"reelay/apie", "1"}} {
		if events.DedupID(other[0], other[1]) == a {
			t.Errorf("(%q, %q) has the dedup id of (reelay/api, e1)", other[0], other[1])
		}
	}
	if n := len(events.DedupID(strings.Repeat("s", 5000), strings.Repeat("i", 5000))); n != 36 {
		t.Fatalf("dedup id of %d characters", n)
	}
	// The same event in binary and in structured mode has one dedup id;
	// Envelope.DedupID and IdentityOf agree.
	e, err := events.New(events.TypeMovieViewed, "kcat", "m", map[string]string{"movieId": "m", "userId": "u"})
	if err != nil {
		t.Fatal(err)
	}
	structured := `{"specversion":"1.0","id":"` + e.ID + `","type":"movie.viewed","source":"kcat","data":{}}`
	ids := []string{
		e.DedupID(),
		events.IdentityOf(e.Headers(), e.Data).DedupID(),
		events.IdentityOf(map[string]string{"content-type": "application/cloudevents+json"}, []byte(structured)).DedupID(),
	}
	if ids[0] != events.DedupID("kcat", e.ID) || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Fatalf("dedup ids %v", ids)
	}
	if v := uuid.MustParse(e.ID).Version(); v != 7 {
		t.Fatalf("New made an id of version %d, want 7 (time-ordered)", v)
	}
	if id := (events.Identity{ID: "e1"}).DedupID(); id != "" {
		t.Fatalf("an event without source has dedup id %q", id)
	}
}

// TestDedupIDOfTimeOrderedIDs: the dedup id of a UUIDv7 id starts with the
// id's timestamp, so keys sort by time; the rest is still the pair's hash.
func TestDedupIDOfTimeOrderedIDs(t *testing.T) {
	t.Parallel()
	const id = "019ac8a1-5e3f-7d2c-9b4e-0123456789ab" // version 7, 2025-11
	got := events.DedupID("reelay/api", id)
	// The id's 48-bit time, then uuid.NewSHA1(namespace,
	// "10:reelay/api"+id) from its seventh byte on, as version 8.
	if got != "019ac8a1-5e3f-8508-b7e1-47e1e642ec5c" {
		t.Fatalf("DedupID(reelay/api, %s) = %s: inbox rows hold these ids, they never change", id, got)
	}
	if other := events.DedupID("kcat", id); other[:13] != got[:13] || other == got {
		t.Fatalf("another source's dedup id %s: want the same time prefix and a different hash than %s", other, got)
	}
	// Keys follow their ids' time order, across milliseconds.
	prev := ""
	for i := range 50 {
		if i%10 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		u, err := uuid.NewV7()
		if err != nil {
			t.Fatal(err)
		}
		k := events.DedupID("reelay/api", u.String())
		if k[:13] < prev {
			t.Fatalf("dedup id %s sorts before the previous one's time prefix %s", k, prev)
		}
		prev = k[:13]
	}
	// Not a UUIDv7: the plain name-based UUID, whatever the id looks like.
	for _, id := range []string{"019ac8a1-5e3f-4d2c-9b4e-0123456789ab", "019ac8a1-5e3f-7d2c-9b4e-0123456789a", "019AC8A1-5E3F-7D2C-9B4E-0123456789ABCD"} {
		if v := uuid.MustParse(events.DedupID("reelay/api", id)).Version(); v != 5 {
			t.Errorf("dedup id of %q has version %d, want 5", id, v)
		}
	}
}

// TestCorrelationID: the correlationid extension in both modes, the legacy
// header as a fallback, and an unusable value dropped.
func TestCorrelationID(t *testing.T) {
	t.Parallel()
	base := map[string]string{"ce_specversion": "1.0", "ce_id": "e1", "ce_type": "t", "ce_source": "s"}
	with := func(kv ...string) map[string]string {
		h := map[string]string{}
		for k, v := range base {
			h[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	structured := func(attr string) string {
		return `{"specversion":"1.0","id":"e1","type":"t","source":"s",` + attr + `"data":{}}`
	}
	ce := "application/cloudevents+json"
	cases := []struct {
		name    string
		headers map[string]string
		value   string
		want    string
	}{
		{"ce_correlationid", with("ce_correlationid", "c1"), `{}`, "c1"},
		{"legacy correlation_id", with("correlation_id", "c2"), `{}`, "c2"},
		{"ce_correlationid wins over the legacy header", with("ce_correlationid", "c1", "correlation_id", "c2"), `{}`, "c1"},
		{"none", base, `{}`, ""},
		{"too long: dropped", with("ce_correlationid", strings.Repeat("c", 257)), `{}`, ""},
		{"too long: the legacy header is used", with("ce_correlationid", strings.Repeat("c", 257), "correlation_id", "c2"), `{}`, "c2"},
		{"control character: dropped", with("ce_correlationid", "c\n1"), `{}`, ""},
		{"structured attribute", map[string]string{"content-type": ce}, structured(`"correlationid":"c3",`), "c3"},
		{"structured header fallback", map[string]string{"content-type": ce, "ce_correlationid": "c4"}, structured(``), "c4"},
		{"structured attribute not a string", map[string]string{"content-type": ce}, structured(`"correlationid":7,`), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := events.Decode(tc.headers, "k", []byte(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if got.CorrelationID != tc.want {
				t.Fatalf("Decode: correlation id %q, want %q", got.CorrelationID, tc.want)
			}
			if id := events.IdentityOf(tc.headers, []byte(tc.value)).CorrelationID; id != tc.want {
				t.Fatalf("IdentityOf: correlation id %q, want %q", id, tc.want)
			}
		})
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	t.Parallel()
	ok := map[string]string{"ce_specversion": "1.0", "ce_id": "1", "ce_type": "t", "ce_source": "s"}
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for a, b := range ok {
			h[a] = b
		}
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	structured := map[string]string{"content-type": "application/cloudevents+json"}
	sv := func(fields string) string {
		return `{"specversion":"1.0","id":"1","type":"t","source":"s",` + fields + `}`
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name    string
		headers map[string]string
		value   string
		reason  string
	}{
		{"not JSON", ok, "{nope", "data is not a JSON object"},
		{"JSON but not an object", ok, `[1,2]`, "data is not a JSON object"},
		{"empty value", ok, ``, "data is not a JSON object"},
		{"no id", with("ce_id", ""), `{}`, "id is required"},
		{"no type", with("ce_type", ""), `{}`, "type is required"},
		{"no source", with("ce_source", ""), `{}`, "source is required"},
		{"wrong spec version", with("ce_specversion", "0.3"), `{}`, "specversion"},
		{"bad time", with("ce_time", "yesterday"), `{}`, "time"},
		{"structured not JSON", structured, `nope`, "structured event is not a JSON object"},
		{"structured no data", structured, `{"specversion":"1.0","id":"1","type":"t","source":"s"}`, "data is not a JSON object"},
		{"structured XML data", structured, `{"specversion":"1.0","id":"1","type":"t","source":"s","datacontenttype":"text/xml","data":{}}`, "not JSON"},
		{"structured data_base64 not an object", structured, sv(`"data_base64":"` + b64(`[1]`) + `"`), "data is not a JSON object"},
		{"structured data_base64 not JSON", structured, sv(`"data_base64":"` + b64(`<view/>`) + `"`), "data is not a JSON object"},
		{"structured data_base64 not base64", structured, sv(`"data_base64":"%%%"`), "data_base64 is not base64"},
		{"structured data and data_base64", structured, sv(`"data":{},"data_base64":"` + b64(`{}`) + `"`), "both set"},
		{"structured data_base64 of a non-JSON type", structured, sv(`"datacontenttype":"application/octet-stream","data_base64":"` + b64(`{}`) + `"`), `datacontenttype "application/octet-stream" is not JSON`},
		{"structured text data", structured, sv(`"datacontenttype":"text/plain","data":"{}"`), `datacontenttype "text/plain" is not JSON`},
		{"structured string data not an object", structured, sv(`"data":"[1]"`), "data is not a JSON object"},
		{"structured format not JSON", map[string]string{"content-type": "application/cloudevents+avro"}, `{}`, `event format "application/cloudevents+avro" is not supported`},
		{"structured batch", map[string]string{"content-type": "application/cloudevents-batch+json"}, `[]`, "is not supported"},
		{"binary text/plain", with("content-type", "text/plain; charset=utf-8"), `{}`, `content-type "text/plain; charset=utf-8" is not JSON`},
		{"binary XML", with("content-type", "application/xml"), `<view/>`, `content-type "application/xml" is not JSON`},
		{"binary protobuf that looks like JSON", with("content-type", "application/protobuf"), `{}`, `content-type "application/protobuf" is not JSON`},
		{"id of 257 bytes", with("ce_id", strings.Repeat("i", 257)), `{}`, "id is longer than 256 bytes"},
		{"id of 8000 bytes", with("ce_id", strings.Repeat("i", 8000)), `{}`, "id is longer than 256 bytes"},
		{"source of 257 bytes", with("ce_source", strings.Repeat("s", 257)), `{}`, "source is longer than 256 bytes"},
		{"type of 257 bytes", with("ce_type", strings.Repeat("t", 257)), `{}`, "type is longer than 256 bytes"},
		{"id with a newline", with("ce_id", "e\n1"), `{}`, "id contains a control character"},
		{"source with NUL", with("ce_source", "s\x00"), `{}`, "source contains a control character"},
		{"type with DEL", with("ce_type", "t\x7f"), `{}`, "type contains a control character"},
		{"id with a C1 control", with("ce_id", "e\u0085"), `{}`, "id contains a control character"},
		{"id not UTF-8", with("ce_id", "e\xff"), `{}`, "id is not valid UTF-8"},
		{"structured id of 257 bytes", structured, `{"specversion":"1.0","id":"` + strings.Repeat("i", 257) + `","type":"t","source":"s","data":{}}`, "id is longer than 256 bytes"},
		{"long time is not echoed whole", with("ce_time", strings.Repeat("9", 5000)), `{}`, `…`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := events.Decode(tc.headers, "k", []byte(tc.value))
			if !errors.Is(err, events.ErrMalformed) || !events.IsPermanent(err) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %.300v, want malformed: %s", err, tc.reason)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("error of %d bytes: input must not be echoed whole", len(err.Error()))
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	transient := errors.New("connection reset")
	cases := []struct {
		err       error
		permanent bool
	}{
		{transient, false},
		{fmt.Errorf("wrapped: %w", transient), false},
		{events.Malformed("x"), true},
		{fmt.Errorf("handler: %w", events.Malformed("x")), true},
		{events.Permanent(transient), true},
		{fmt.Errorf("outer: %w", events.Permanent(transient)), true},
	}
	for _, tc := range cases {
		if got := events.IsPermanent(tc.err); got != tc.permanent {
			t.Errorf("IsPermanent(%v) = %v", tc.err, got)
		}
	}
	if events.Permanent(nil) != nil {
		t.Error("Permanent(nil) must be nil")
	}
}

func TestOnDecodesAndValidates(t *testing.T) {
	t.Parallel()
	var got events.MovieViewed
	c := events.Consumer{Routes: []events.Route{
		events.On(events.TypeMovieViewed, func(_ context.Context, _ events.Envelope, v events.MovieViewed) error { got = v; return nil }),
	}}
	route, ok := c.Route(events.TypeMovieViewed)
	if !ok {
		t.Fatal("no route")
	}
	if _, ok := c.Route("movie.rated"); ok {
		t.Fatal("route for an unknown type")
	}
	cases := []struct {
		data string
		err  string
	}{
		{`{"movieId":"m","userId":"u","watchedSeconds":3,"extra":true}`, ""},
		{`{"movieId":"m"}`, "userId is required"},
		{`{"movieId":"m","userId":"u","watchedSeconds":-1}`, "watchedSeconds must be 0 to 86400"},
		{`{"movieId":"m","userId":"u","watchedSeconds":86401}`, "watchedSeconds must be 0 to 86400"},
		{`{"movieId":7,"userId":"u"}`, "movie.viewed data"},
	}
	for _, tc := range cases {
		err := route(context.Background(), events.Envelope{Data: json.RawMessage(tc.data)})
		if tc.err == "" {
			if err != nil || got.MovieID != "m" || *got.WatchedSeconds != 3 {
				t.Fatalf("%s: %v %+v", tc.data, err, got)
			}
			continue
		}
		if !errors.Is(err, events.ErrMalformed) || !strings.Contains(err.Error(), tc.err) {
			t.Fatalf("%s: err = %v, want %s", tc.data, err, tc.err)
		}
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	five, six := 5, 6
	cases := []struct {
		name string
		v    events.Validator
		ok   bool
	}{
		{"created", events.MovieCreated{MovieID: "m", Title: "t"}, true},
		{"created without title", events.MovieCreated{MovieID: "m"}, false},
		{"updated without id", events.MovieUpdated{}, false},
		{"deleted", events.MovieDeleted{MovieID: "m"}, true},
		{"rate", events.UserAction{UserID: "u", Type: "rate", MovieID: "m", Rating: &five}, true},
		{"rate 6", events.UserAction{UserID: "u", Type: "rate", MovieID: "m", Rating: &six}, false},
		{"like without movie", events.UserAction{UserID: "u", Type: "like"}, false},
		{"unknown action", events.UserAction{UserID: "u", Type: "dance"}, false},
		{"search", events.UserAction{UserID: "u", Type: "search", Query: "q"}, true},
		{"notification", events.NotificationRequested{UserID: "u", Channel: "fax", Body: "b"}, true},
		{"notification without body", events.NotificationRequested{UserID: "u", Channel: "email"}, false},
	}
	for _, tc := range cases {
		if err := tc.v.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestTopics(t *testing.T) {
	t.Parallel()
	if ch, ok := events.ChannelOf("notification-webhook"); !ok || ch != "webhook" {
		t.Fatal(ch, ok)
	}
	for _, topic := range []string{"notification-", "movie-events", "notification-x.dlq"} {
		if _, ok := events.ChannelOf(topic); ok {
			t.Fatalf("%s is not a notification topic", topic)
		}
	}
	if events.DeadLetterTopic(events.GroupNotification) != "notif-group.dlq" {
		t.Fatal("dlq name")
	}
	if n := len(events.PublishedTopics()); n != 6 {
		t.Fatalf("%d static topics", n)
	}
}

// TestDeadLetterHeadersSharePrefix: consumers drop incoming headers by
// DLQHeaderPrefix, so every dead-letter header must start with it.
func TestDeadLetterHeadersSharePrefix(t *testing.T) {
	t.Parallel()
	for _, h := range []string{events.DLQOriginalTopic, events.DLQPartition, events.DLQOffset, events.DLQKey, events.DLQTimestamp,
		events.DLQGroup, events.DLQHandler, events.DLQError, events.DLQAttempts, events.DLQFirstFailure, events.DLQLastFailure} {
		if !strings.HasPrefix(h, events.DLQHeaderPrefix) {
			t.Errorf("%s does not start with %s", h, events.DLQHeaderPrefix)
		}
	}
}
