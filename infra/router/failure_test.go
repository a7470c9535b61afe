package router

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

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
