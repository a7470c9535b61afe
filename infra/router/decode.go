package router

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// decodedKey holds a message's decoded in its context.
type decodedKey struct{}

// decoded is what a message holds for the consumer: its envelope, or why it
// has none, and for an event of a batch route the data its Check returned
// (or why it refused it).
type decoded struct {
	rec kafka.RecordInfo // where the message came from; zero for one built by hand
	env events.Envelope
	err error

	route    events.Route // the batch route of env.Type, when batch
	batch    bool
	data     any
	checkErr error
}

// decodeFirst decodes each message's envelope, and a batch route's data,
// once, at the top of the chain; the batcher and the dispatcher read it
// (decodedOf) and retries reuse it. Decoding first is also cheaper: JSON
// decoding at the bottom of a dozen middleware frames outgrew the message
// goroutine's first stack, and the runtime copied every frame each time (a
// quarter of Reelay's CPU in a drain).
func decodeFirst(c events.Consumer) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			growStack()
			if _, ok := decodedFrom(msg); !ok { // runs may have decoded it
				msg.SetContext(context.WithValue(msg.Context(), decodedKey{}, decodeMessage(c, msg)))
			}
			return h(msg)
		}
	}
}

// decodedOf returns what decodeFirst found in msg, or decodes it now.
func decodedOf(c events.Consumer, msg *message.Message) *decoded {
	if d, ok := decodedFrom(msg); ok {
		return d
	}
	return decodeMessage(c, msg)
}

// decodedFrom returns what decodeFirst found in msg; ok is false before it.
func decodedFrom(msg *message.Message) (*decoded, bool) {
	d, ok := msg.Context().Value(decodedKey{}).(*decoded)
	return d, ok
}

func decodeMessage(c events.Consumer, msg *message.Message) *decoded {
	rec, _ := kafka.RecordFromContext(msg.Context())
	env, err := decodeRecord(msg, rec)
	d := &decoded{rec: rec, env: env, err: err}
	if err != nil {
		return d
	}
	if d.route, d.batch = c.BatchRoute(env.Type); d.batch {
		d.data, d.checkErr = d.route.Check(env)
	}
	return d
}

// decodeRecord reads the message's envelope; an event without a time gets
// its record's timestamp.
func decodeRecord(msg *message.Message, rec kafka.RecordInfo) (events.Envelope, error) {
	env, err := events.Decode(msg.Metadata, string(rec.Key), msg.Payload)
	if err != nil {
		return env, err
	}
	if env.Time.IsZero() && !rec.Timestamp.IsZero() {
		env.Time = rec.Timestamp.UTC()
	}
	return env, nil
}
