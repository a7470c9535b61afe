package router

import (
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
func retry(maxRetries int, initial time.Duration) message.HandlerMiddleware {
	return retryConfig(maxRetries, initial).Middleware
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
