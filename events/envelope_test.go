package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
	if h := e.Headers(); h["ce_specversion"] != "1.0" || h["content-type"] != "application/json" || len(h) != 7 {
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
	if id := events.IDOf(headers, []byte(value)); id != "e1" {
		t.Fatalf("IDOf = %q", id)
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := events.Decode(tc.headers, "k", []byte(tc.value))
			if !errors.Is(err, events.ErrMalformed) || !events.IsPermanent(err) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want malformed: %s", err, tc.reason)
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
	if n := len(events.StaticTopics()); n != 9 {
		t.Fatalf("%d static topics", n)
	}
}
