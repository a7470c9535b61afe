package router

import (
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

type loggerKey struct{}

// correlation puts into the message context a logger that carries the
// correlation id, the event id and source, the dedup id (the message UUID,
// the inbox key), the group and handler, and the record's topic, partition
// and offset: every line a handler or middleware logs about the event.
//
// The correlation id is the event's correlationid extension
// (ce_correlationid, the correlationid attribute in structured mode, or the
// legacy correlation_id header). When the producer sent none, or one that is
// too long or unprintable, it is the event id, or the dedup id for a record
// without a usable event id.
func correlation(base *slog.Logger, group, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			var (
				ident events.Identity
				rec   kafka.RecordInfo
			)
			if d, ok := decodedFrom(msg); ok && d.err == nil {
				ident = events.Identity{ID: d.env.ID, Source: d.env.Source, CorrelationID: d.env.CorrelationID}
				rec = d.rec
			} else {
				ident = events.IdentityOf(msg.Metadata, msg.Payload)
				rec, _ = kafka.RecordFromContext(msg.Context())
			}
			eventID, source := loggable(ident.ID), loggable(ident.Source)
			id := ident.CorrelationID
			if id == "" {
				id = eventID
			}
			if id == "" {
				id = msg.UUID
			}
			msg.SetContext(withLogger(msg.Context(), base, messageFields{correlationID: id, eventID: eventID,
				source: source, dedupID: msg.UUID, group: group, handler: handler,
				topic: rec.Topic, partition: rec.Partition, offset: rec.Offset}))
			return h(msg)
		}
	}
}

// loggable is an attribute, or "" when it is too long to log: decoding
// rejects such an event, and its dedup id still identifies it.
func loggable(attr string) string {
	if len(attr) > events.MaxAttributeLength {
		return ""
	}
	return attr
}
