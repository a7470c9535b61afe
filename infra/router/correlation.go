package router

import (
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

type loggerKey struct{}

// correlation makes sure every message has a correlation id (the event id
// when the producer sent none) and puts a logger carrying it, the event id
// and the handler into the message context.
func correlation(base *slog.Logger, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			id := msg.Metadata.Get(events.HeaderCorrelationID)
			if id == "" {
				id = msg.UUID
			}
			log := base.With("correlation_id", id, "event_id", msg.UUID, "handler", handler)
			msg.SetContext(withLogger(msg.Context(), log))
			return h(msg)
		}
	}
}
