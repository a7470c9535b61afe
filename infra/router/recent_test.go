package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// TestRecentEventsKeepsTheNewest: the ring keeps the last RecentCapacity
// events, newest first, numbered from 1, and honours a limit.
func TestRecentEventsKeepsTheNewest(t *testing.T) {
	t.Parallel()
	var r RecentEvents
	if got := r.List(0); len(got) != 0 {
		t.Fatalf("empty ring lists %d", len(got))
	}
	for i := range RecentCapacity + 50 {
		r.Add(HandledEvent{Key: fmt.Sprint(i)})
	}
	for _, tc := range []struct {
		name  string
		limit int
		want  int
	}{{"all", 0, RecentCapacity}, {"limit", 3, 3}, {"limit above capacity", 1000, RecentCapacity}} {
		got := r.List(tc.limit)
		if len(got) != tc.want {
			t.Fatalf("%s: %d events, want %d", tc.name, len(got), tc.want)
		}
		for i, e := range got {
			if wantSeq := uint64(RecentCapacity + 50 - i); e.Seq != wantSeq || e.Key != fmt.Sprint(wantSeq-1) {
				t.Fatalf("%s: event %d is seq %d key %s, want seq %d", tc.name, i, e.Seq, e.Key, wantSeq)
			}
		}
	}
}

// TestRecentEventsIsSafeForConcurrentUse: handlers add from many goroutines
// while the admin API lists (run with -race).
func TestRecentEventsIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	var r RecentEvents
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r.Add(HandledEvent{})
				_ = r.List(10)
			}
		})
	}
	wg.Wait()
	if got := r.List(1); got[0].Seq != 800 {
		t.Fatalf("newest seq %d, want 800", got[0].Seq)
	}
}

// TestRecentEventsRecordsTheOutcome runs the middleware on stub handlers:
// each event is kept with its attributes, outcome, attempts and error, and
// every string from outside is cut to its bound.
func TestRecentEventsRecordsTheOutcome(t *testing.T) {
	t.Parallel()
	huge := "a" + strings.Repeat("é", 10_000) // two bytes a rune after one: a cut must not split one
	for _, tc := range []struct {
		name    string
		h       message.HandlerFunc
		md      map[string]string
		payload string
		want    HandledEvent
	}{
		{"applied", func(*message.Message) ([]*message.Message, error) { return nil, nil },
			map[string]string{events.HeaderID: "e-1", events.HeaderType: "movie.viewed", events.HeaderCorrelationID: "c-1", events.DLQAttempts: "1"},
			`{"movieId":"heat"}`,
			HandledEvent{EventID: "e-1", Type: "movie.viewed", CorrelationID: "c-1", Outcome: "applied", Attempts: 1, Payload: `{"movieId":"heat"}`, PayloadBytes: 18}},
		{"dead-lettered after retries", func(msg *message.Message) ([]*message.Message, error) {
			msg.Metadata.Set(events.DLQError, "poisoned")
			msg.SetContext(context.WithValue(msg.Context(), deadLetteredKey{}, true))
			return nil, nil
		}, map[string]string{events.HeaderID: "e-2", events.DLQAttempts: "4"}, "",
			HandledEvent{EventID: "e-2", Outcome: "dead_lettered", Attempts: 4, Error: "poisoned"}},
		{"failed", failing(errors.New("boom")), nil, "", HandledEvent{Outcome: "failed", Error: "boom"}},
		{"structured", func(*message.Message) ([]*message.Message, error) { return nil, nil },
			map[string]string{events.HeaderContentType: "application/cloudevents+json"}, `{"id":"e-3","type":"t.s","source":"s"}`,
			HandledEvent{EventID: "e-3", Type: "t.s", Outcome: "applied", Payload: `{"id":"e-3","type":"t.s","source":"s"}`, PayloadBytes: 38}},
		{"oversized", failing(errors.New(huge)), map[string]string{events.HeaderID: huge, events.HeaderType: huge}, huge,
			HandledEvent{Outcome: "failed", Type: huge[:recentAttributeBytes-1], EventID: huge[:recentAttributeBytes-1],
				Error: huge[:recentErrorBytes-1], Payload: huge[:recentPayloadBytes-1], PayloadBytes: len(huge)}},
		{"binary payload", func(*message.Message) ([]*message.Message, error) { return nil, nil }, nil, "\xff\xfe",
			HandledEvent{Outcome: "applied", PayloadBytes: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r RecentEvents
			msg := message.NewMessage("uuid", []byte(tc.payload))
			for k, v := range tc.md {
				msg.Metadata.Set(k, v)
			}
			_, _ = recentEvents(&r, "g", "h")(tc.h)(msg)
			got := r.List(0)
			if len(got) != 1 {
				t.Fatalf("%d events kept", len(got))
			}
			e := got[0]
			if e.Time.IsZero() {
				t.Fatal("no time")
			}
			e.Time = tc.want.Time
			tc.want.Seq, tc.want.Group, tc.want.Handler = 1, "g", "h"
			if e != tc.want {
				t.Fatalf("kept\n%+v\nwant\n%+v", shorten(e), shorten(tc.want))
			}
		})
	}
}

// shorten keeps a failure message readable.
func shorten(e HandledEvent) HandledEvent {
	for _, s := range []*string{&e.Type, &e.EventID, &e.Error, &e.Payload} {
		if len(*s) > 40 {
			*s = fmt.Sprintf("%s… (%d bytes)", (*s)[:40], len(*s))
		}
	}
	return e
}

// BenchmarkRecentEvents is what keeping an event in the ring costs each
// handled event.
func BenchmarkRecentEvents(b *testing.B) {
	var r RecentEvents
	mw := recentEvents(&r, "movie-group", "movie:movie-views")(func(*message.Message) ([]*message.Message, error) { return nil, nil })
	msg := message.NewMessage("uuid", []byte(`{"movieId":"heat","userId":"u1","watchedSeconds":120}`))
	for k, v := range map[string]string{events.HeaderID: "6f1c1d3e-5c1b-4a53-9d7e-1d2f3a4b5c6d", events.HeaderSource: "reelay/api",
		events.HeaderType: "movie.viewed", events.HeaderCorrelationID: "c-6f1c1d3e", events.DLQAttempts: "1"} {
		msg.Metadata.Set(k, v)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = mw(msg)
		}
	})
}
