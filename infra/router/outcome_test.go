package router

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
)

// TestOutcomeCountsWhatHappened runs the middleware on stub handlers that
// end each way an event can end, and reads the counter of each outcome.
func TestOutcomeCountsWhatHappened(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics()
	mw := outcome(m, "g", "h")
	mark := func(key any) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			msg.SetContext(context.WithValue(msg.Context(), key, true))
			return nil, nil
		}
	}
	for _, tc := range []struct {
		h    message.HandlerFunc
		want string
	}{
		{func(*message.Message) ([]*message.Message, error) { return nil, nil }, "applied"},
		{mark(duplicateKey{}), "duplicate"},
		{mark(deadLetteredKey{}), "dead_lettered"},
		{failing(fmt.Errorf("publish: %w", errDeadLetterFailed)), "dead_letter_failed"},
		{failing(errors.Join(errShuttingDown, errors.New("canceled"))), "redelivered"},
		{failing(errors.New("boom")), "failed"},
	} {
		_, _ = mw(tc.h)(message.NewMessage("id", nil))
		if n := testutil.ToFloat64(m.Events.WithLabelValues("g", "h", tc.want)); n != 1 {
			t.Fatalf("%s counted %v times, want 1", tc.want, n)
		}
	}
	if n := testutil.CollectAndCount(m.Events); n != 6 {
		t.Fatalf("%d outcome series, want 6", n)
	}
}

// TestOutcomeCountsRetries: an event that took three attempts adds two
// retries; one that took one adds none.
func TestOutcomeCountsRetries(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics()
	ok := func(*message.Message) ([]*message.Message, error) { return nil, nil }
	for _, attempts := range []string{"3", "1", ""} {
		msg := message.NewMessage("id", nil)
		msg.Metadata.Set(events.DLQAttempts, attempts)
		_, _ = outcome(m, "g", "h")(ok)(msg)
	}
	if n := testutil.ToFloat64(m.Retries.WithLabelValues("g", "h")); n != 2 {
		t.Fatalf("%v retries counted, want 2", n)
	}
}
