package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cenkalti/backoff/v5"

	"github.com/reelay/reelay/events"
)

// TestRetryWaitsAtMostTenSeconds draws the waits of the retry settings the
// way Watermill's Retry does (cenkalti/backoff's exponential backoff): after
// many attempts, with the jitter, no wait exceeds 10 s, and late waits reach
// at least two thirds of it.
func TestRetryWaitsAtMostTenSeconds(t *testing.T) {
	t.Parallel()
	r := retryConfig(5, 100*time.Millisecond)
	var longest time.Duration
	for range 200 {
		b := backoff.NewExponentialBackOff()
		b.InitialInterval, b.MaxInterval = r.InitialInterval, r.MaxInterval
		b.Multiplier, b.RandomizationFactor = r.Multiplier, r.RandomizationFactor
		for range 30 {
			longest = max(longest, b.NextBackOff())
		}
	}
	if longest > 10*time.Second || longest < 6*time.Second {
		t.Fatalf("longest wait %s, want from 6 s to 10 s", longest)
	}
}

// TestRetryRetriesTransientErrorsOnly runs the middleware on stub handlers:
// a transient error is tried 1+MaxRetries times, a permanent one once.
func TestRetryRetriesTransientErrorsOnly(t *testing.T) {
	t.Parallel()
	mw := retry(2, time.Millisecond)
	for _, tc := range []struct {
		err  error
		want int
	}{{errors.New("connection reset"), 3}, {events.Malformed("bad"), 1}} {
		calls := 0
		_, err := mw(func(*message.Message) ([]*message.Message, error) { calls++; return nil, tc.err })(message.NewMessage("id", nil))
		if err == nil || calls != tc.want {
			t.Fatalf("%v: %d calls (err %v), want %d", tc.err, calls, err, tc.want)
		}
	}
}

// TestRetryAfterTheFirstAttempt: a handler that fails once then succeeds is
// called twice and the message succeeds; a router closing during the first
// wait ends the retries after one call.
func TestRetryAfterTheFirstAttempt(t *testing.T) {
	t.Parallel()
	calls := 0
	_, err := retry(3, time.Millisecond)(func(*message.Message) ([]*message.Message, error) {
		if calls++; calls == 1 {
			return nil, errors.New("connection reset")
		}
		return nil, nil
	})(message.NewMessage("id", nil))
	if err != nil || calls != 2 {
		t.Fatalf("%d calls (err %v), want 2 and no error", calls, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	msg := message.NewMessage("id", nil)
	msg.SetContext(ctx)
	calls = 0
	_, err = retry(3, time.Hour)(func(*message.Message) ([]*message.Message, error) {
		calls++
		cancel()
		return nil, errors.New("connection reset")
	})(msg)
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("%d calls (err %v), want 1 and context.Canceled", calls, err)
	}
}
