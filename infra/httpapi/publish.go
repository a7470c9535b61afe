package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
)

// Publisher publishes one event. A nil error means Kafka acknowledged it with
// acks=all; a publish retried with the same event id is deduplicated by
// every consumer's inbox.
type Publisher interface {
	Publish(ctx context.Context, topic string, e events.Envelope) error
}

const (
	eventSource       = "reelay/api"
	retryAfterSeconds = 5
	headerIdemKey     = "Idempotency-Key"
)

// idempotencyNamespace derives event ids from Idempotency-Key values.
var idempotencyNamespace = uuid.MustParse("8f5b7a4e-2f55-4a8e-9d43-0c9f4ad1d7e1")

// derivedID returns an id derived from the request's Idempotency-Key, its
// fingerprint (method, path, body) and purpose, or a fresh id
// (events.NewID) when the request has no key. A retry of the same request yields the same id, which
// is what makes a retry after a 503 take effect once: its event carries the
// same id and the inbox drops it. The fingerprint keeps a key reused with
// another body after it expired from colliding with the first event.
func derivedID(c echo.Context, purpose string) (string, error) {
	key := c.Request().Header.Get(headerIdemKey)
	if key == "" {
		return events.NewID(), nil
	}
	if len(key) > maxIdemKeyLen {
		return "", invalid(headerIdemKey, "Idempotency-Key must be at most %d characters", maxIdemKeyLen)
	}
	r := c.Request()
	scope := r.Method + " " + r.URL.Path
	if fp, ok := c.Get(ctxFingerprint).(string); ok {
		scope = fp
	}
	return uuid.NewSHA1(idempotencyNamespace, []byte(purpose+"\n"+scope+"\n"+key)).String(), nil
}

type acceptedBody struct {
	MovieID        string `json:"movieId,omitempty"`
	NotificationID string `json:"notificationId,omitempty"`
	EventID        string `json:"eventId"`
}

// publish builds the event and publishes it, answering 503 when Kafka does
// not acknowledge it. It returns the event id.
func (s *Server) publish(c echo.Context, topic, eventType, key string, data any) (string, error) {
	id, err := derivedID(c, "event")
	if err != nil {
		return "", err
	}
	env, err := events.NewWithID(id, eventType, eventSource, key, data)
	if err != nil {
		return "", err
	}
	env.CorrelationID = correlationID(c)
	ctx := c.Request().Context()
	if err := s.pub.Publish(ctx, topic, env); err != nil {
		s.published.Of([2]string{topic, "error"}).Inc()
		s.logger.WarnContext(ctx, "publish failed", "topic", topic, "err", err, "correlation_id", env.CorrelationID)
		return "", &apiError{Status: http.StatusServiceUnavailable, Code: "broker_unavailable",
			Message: "the event could not be stored; retry later with the same Idempotency-Key"}
	}
	s.published.Of([2]string{topic, "ok"}).Inc()
	return id, nil
}

// accept publishes and answers 202 with the event id: {"eventId": id},
// written without the JSON encoder (id is a UUID, which needs no escaping;
// the encoder was 5 % of the service's CPU under ingest load).
func (s *Server) accept(c echo.Context, topic, eventType, key string, data any) error {
	id, err := s.publish(c, topic, eventType, key, data)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusAccepted, []byte(`{"eventId":"`+id+`"}`))
}
