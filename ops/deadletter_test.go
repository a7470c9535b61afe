package ops_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/ops"
)

// TestParseDeadLetterReadsTheFailureHeaders: every dlq_* header lands in
// its field; headers and the preview are readable text whatever the bytes;
// missing or malformed headers leave fields empty, never an error.
func TestParseDeadLetterReadsTheFailureHeaders(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	value := append([]byte(strings.Repeat("v", ops.PreviewBytes)), 0xff, 'x')
	d := ops.ParseDeadLetter("movie-group", ops.Record{Topic: "movie-group.dlq", Partition: 2, Offset: 9, Timestamp: at, Key: []byte("heat"),
		Headers: map[string][]byte{
			events.DLQOriginalTopic: []byte("movie-views"), events.DLQPartition: []byte("4"), events.DLQOffset: []byte("123"),
			events.DLQTimestamp: []byte("2026-11-27T09:59:00Z"), events.DLQHandler: []byte("movie:movie-views"),
			events.DLQError: []byte("boom"), events.DLQErrorClass: []byte(events.ErrorClassPanic), events.DLQAttempts: []byte("6"),
			events.DLQFirstFailure: []byte("2026-11-27T09:59:01Z"), events.DLQLastFailure: []byte("not a time"),
			events.HeaderID: []byte("e1"), events.HeaderType: []byte(events.TypeMovieViewed), events.HeaderSource: []byte("api"),
			events.HeaderCorrelationID: []byte("c1"), events.ReplayCount: []byte("2"), events.ReplayID: []byte("r1"),
			"x-bin": {0xff, 0xfe},
		}, Value: value})
	if d.Group != "movie-group" || d.Partition != 2 || d.Offset != 9 || !d.DeadLetteredAt.Equal(at) || d.Key != "heat" ||
		d.Original.Topic != "movie-views" || d.Original.Partition != 4 || d.Original.Offset != 123 || d.Original.Timestamp == nil ||
		d.Handler != "movie:movie-views" || d.Error != "boom" || d.ErrorClass != events.ErrorClassPanic || d.Attempts != 6 ||
		d.FirstFailure == nil || d.LastFailure != nil || d.EventID != "e1" || d.EventType != events.TypeMovieViewed ||
		d.EventSource != "api" || d.CorrelationID != "c1" || d.ReplayCount != 2 || d.FromReplay != "r1" || d.Status != ops.StatusPending ||
		d.PayloadSize != int64(len(value)) || len(d.PayloadPreview) != ops.PreviewBytes || d.Headers["x-bin"] != "\uFFFD" {
		t.Fatalf("%+v", d)
	}
	bare := ops.ParseDeadLetter("g", ops.Record{Value: nil})
	if bare.ErrorClass != "unknown" || bare.Attempts != 0 || bare.Key != "" || bare.PayloadPreview != "" {
		t.Fatalf("bare %+v", bare)
	}
	full := d.Full()
	if full.Payload != nil || base64.StdEncoding.EncodeToString(full.PayloadBase64) != base64.StdEncoding.EncodeToString(value) {
		t.Fatalf("a payload that is not UTF-8 must come as base64")
	}
	trunc := ops.ParseDeadLetter("g", ops.Record{Value: []byte("cut"), Headers: map[string][]byte{
		events.DLQTruncated: []byte("true"), events.DLQOriginalSize: []byte("1048576")}})
	if !trunc.Truncated || trunc.PayloadSize != 1048576 {
		t.Fatalf("truncated %+v", trunc)
	}
}

// TestReplayMessageCarriesTheOriginal: a replayed record has the original
// key, value and headers, none of the dead-letter headers, and the replay
// headers that say where it first failed.
func TestReplayMessageCarriesTheOriginal(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	d := ops.DeadLetter{Group: "movie-group", Handler: "movie:movie-views", ReplayCount: 1,
		Original: ops.Position{Topic: "movie-views", Partition: 3, Offset: 41, Timestamp: &ts}}.WithRaw([]byte("heat"),
		map[string][]byte{events.HeaderID: []byte("e1"), events.DLQError: []byte("boom"), events.ReplayID: []byte("old")}, []byte(`{}`))
	msg := ops.ReplayMessage(d, "r2")
	want := map[string]string{events.HeaderID: "e1", kafka.MetadataKey: "heat", events.ReplayID: "r2", events.ReplayCount: "2",
		events.ReplayOfTopic: "movie-views", events.ReplayOfPartition: "3", events.ReplayOfOffset: "41",
		events.ReplayOfTimestamp: "2026-11-27T09:00:00Z", events.ReplayOfHandler: "movie:movie-views"}
	if len(msg.Metadata) != len(want) || string(msg.Payload) != `{}` {
		t.Fatalf("metadata %v", msg.Metadata)
	}
	for k, v := range want {
		if msg.Metadata.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, msg.Metadata.Get(k), v)
		}
	}
}

// TestFilterMustSelectSomething: an empty filter is refused unless it says
// all; bad values are refused.
func TestFilterMustSelectSomething(t *testing.T) {
	t.Parallel()
	one, five := int64(1), int64(5)
	neg := int32(-1)
	for name, f := range map[string]ops.Filter{
		"empty":            {},
		"reversed offsets": {FromOffset: &five, ToOffset: &one},
		"negative":         {Partition: &neg},
		"too many records": {Records: make([]ops.RecordRef, ops.MaxFilterRecords+1)},
		"long error":       {Error: strings.Repeat("e", 513)},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, f := range map[string]ops.Filter{"all": {All: true}, "handler": {Handler: "h"}, "key": {Key: "k"},
		"range": {FromOffset: &one, ToOffset: &five}, "records": {Records: []ops.RecordRef{{Partition: 0, Offset: 1}}}} {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCursorRoundTrips: a listing's cursor decodes to where it was made,
// and anything else is refused.
func TestCursorRoundTrips(t *testing.T) {
	t.Parallel()
	c := ops.Cursor{At: time.UnixMilli(1764237600123).UTC(), Partition: 3, Offset: 99}
	got, err := ops.DecodeCursor(ops.EncodeCursor(c))
	if err != nil || *got != c {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "x", base64.RawURLEncoding.EncodeToString([]byte(`[1,2]`)), strings.Repeat("A", 300)} {
		if _, err := ops.DecodeCursor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
