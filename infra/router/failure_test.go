package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reelay/reelay/events"
)

// TestFailureRecordWritesWhereAndWhy runs the middleware on a failing stub:
// the metadata names group, handler and a bounded error; a success writes
// nothing; a failure while the router closes is marked for redelivery.
func TestFailureRecordWritesWhereAndWhy(t *testing.T) {
	t.Parallel()
	mw := failureRecord("g", "movie:movie-views")
	msg := message.NewMessage("id", nil)
	if _, err := mw(failing(errors.New(strings.Repeat("x", 5000))))(msg); err == nil {
		t.Fatal("error lost")
	}
	md := msg.Metadata
	if md.Get(events.DLQGroup) != "g" || md.Get(events.DLQHandler) != "movie:movie-views" || len(md.Get(events.DLQError)) > maxErrorText+len("…") {
		t.Fatalf("metadata %v", md)
	}
	ok := message.NewMessage("id", nil)
	if _, err := mw(func(*message.Message) ([]*message.Message, error) { return nil, nil })(ok); err != nil || len(ok.Metadata) != 0 {
		t.Fatalf("success wrote %v (%v)", ok.Metadata, err)
	}
	closing := message.NewMessage("id", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	closing.SetContext(ctx)
	if _, err := mw(failing(errors.New("canceled")))(closing); !errors.Is(err, errShuttingDown) || closing.Metadata.Get(events.DLQError) != "" {
		t.Fatalf("closing: %v %v", err, closing.Metadata)
	}
}

// TestFailureRecordClassifiesTheError: each kind of final failure gets its
// class, which operators group dead letters by.
func TestFailureRecordClassifiesTheError(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		events.Malformed("not json"):                                    events.ErrorClassMalformed,
		events.Invalid("year", "year must be 1870 to 2100"):             events.ErrorClassInvalid,
		events.Permanent(errors.New("constraint")):                      events.ErrorClassPermanent,
		middleware.RecoveredPanicError{V: "boom"}:                       events.ErrorClassPanic,
		fmt.Errorf("wrapped: %w", middleware.RecoveredPanicError{V: 1}): events.ErrorClassPanic,
		errors.New("database is locked"):                                events.ErrorClassTransient,
	} {
		msg := message.NewMessage("id", nil)
		_, _ = failureRecord("g", "h")(failing(err))(msg)
		if got := msg.Metadata.Get(events.DLQErrorClass); got != want {
			t.Errorf("%v: class %q, want %q", err, got, want)
		}
	}
}

// TestFailureRecordKeepsAReplaysFirstFailure: a replayed record that fails
// again is dead-lettered with the position and handler of its first
// failure, not those of the replay topic.
func TestFailureRecordKeepsAReplaysFirstFailure(t *testing.T) {
	t.Parallel()
	msg := message.NewMessage("id", nil)
	msg.Metadata = message.Metadata{events.ReplayOfTopic: "movie-views", events.ReplayOfPartition: "3",
		events.ReplayOfOffset: "41", events.ReplayOfTimestamp: "2026-11-27T10:00:00Z", events.ReplayOfHandler: "movie:movie-views"}
	_, _ = failureRecord("movie-group", "movie:movie-group.replay")(failing(errors.New("again")))(msg)
	for k, want := range map[string]string{events.DLQOriginalTopic: "movie-views", events.DLQPartition: "3", events.DLQOffset: "41",
		events.DLQTimestamp: "2026-11-27T10:00:00Z", events.DLQHandler: "movie:movie-views"} {
		if got := msg.Metadata.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}
