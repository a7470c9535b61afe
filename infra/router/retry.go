package router

import (
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
)

// retry retries transient errors in process with exponential backoff (×2, up
// to 10 s) and ±50% jitter; permanent errors (events.IsPermanent) return at
// once. Retries stop when the router closes.
func retry(maxRetries int, initial time.Duration, logger *slog.Logger) message.HandlerMiddleware {
	return middleware.Retry{
		MaxRetries:          maxRetries,
		InitialInterval:     initial,
		MaxInterval:         10 * time.Second,
		Multiplier:          2,
		RandomizationFactor: 0.5,
		ResetContextOnRetry: true,
		ShouldRetry:         func(p middleware.RetryParams) bool { return !events.IsPermanent(p.Err) },
		Logger:              telemetry.WatermillLogger(logger),
	}.Middleware
}
