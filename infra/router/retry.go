package router

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reelay/reelay/events"
)

// maxRetryWait is the longest wait between two attempts, jitter included.
const maxRetryWait = 10 * time.Second

// retryJitter spreads each wait by ±50%.
const retryJitter = 0.5

// retry retries transient errors in process with exponential backoff (×2)
// and ±50% jitter, never waiting more than 10 s between attempts; permanent
// errors (events.IsPermanent) return at once. Retries stop when the router
// closes.
//
// The first attempt runs before Watermill's Retry is involved: its backoff
// state costs allocations on every message (5 % of a drain's CPU), and
// most messages succeed at once. After a transient failure the middleware
// waits the first backoff and hands the message to Watermill's Retry, set
// for the remaining retries from the second interval on: the same attempts
// and waits as Watermill's Retry alone.
func retry(maxRetries int, initial time.Duration) message.HandlerMiddleware {
	first := retryConfig(maxRetries, initial)
	if maxRetries == 0 {
		return first.Middleware
	}
	rest := retryConfig(maxRetries-1, initial)
	rest.InitialInterval = min(time.Duration(float64(first.InitialInterval)*first.Multiplier), first.MaxInterval)
	return func(h message.HandlerFunc) message.HandlerFunc {
		retried := rest.Middleware(h)
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := msg.Context()
			produced, err := h(msg)
			if err == nil || !first.ShouldRetry(middleware.RetryParams{Err: err}) {
				return produced, err
			}
			wait := time.NewTimer(jitter(first.InitialInterval, first.RandomizationFactor))
			defer wait.Stop()
			select {
			case <-wait.C:
			case <-ctx.Done():
				return produced, context.Cause(ctx)
			}
			msg.SetContext(ctx)
			return retried(msg)
		}
	}
}

// jitter spreads d by ±factor, as cenkalti/backoff does.
func jitter(d time.Duration, factor float64) time.Duration {
	delta := factor * float64(d)
	return time.Duration(float64(d) - delta + rand.Float64()*(2*delta+1))
}

func retryConfig(maxRetries int, initial time.Duration) middleware.Retry {
	return middleware.Retry{
		MaxRetries:      maxRetries,
		InitialInterval: min(initial, maxRetryWait),
		// The jitter applies after the cap: cap so that the jittered wait
		// stays within maxRetryWait.
		MaxInterval:         maxRetryWait * 2 / 3, // × (1 + retryJitter) = maxRetryWait
		Multiplier:          2,
		RandomizationFactor: retryJitter,
		ResetContextOnRetry: true,
		ShouldRetry:         func(p middleware.RetryParams) bool { return !events.IsPermanent(p.Err) },
		// No Logger: attemptRecord logs each failed attempt with the
		// event's fields, which Watermill's line lacks.
	}
}
