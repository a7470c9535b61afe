package router

import (
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// Bounds of what RecentEvents keeps: nothing a producer sends can make it
// hold more than about RecentCapacity × 3 KiB.
const (
	// RecentCapacity is how many handled events RecentEvents keeps.
	RecentCapacity       = 200
	recentKeyBytes       = 128
	recentAttributeBytes = 256
	recentErrorBytes     = 512
	recentPayloadBytes   = 1024
)

// HandledEvent is one event a handler of this instance finished with: where
// it came from, what it was and what happened to it. Strings from the
// record are cut to a few hundred bytes.
type HandledEvent struct {
	// Seq numbers the events this instance handled, from 1.
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Group     string    `json:"group"`
	Handler   string    `json:"handler"`
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	// Type, EventID and CorrelationID are the CloudEvents attributes, ""
	// when the record has none.
	Type          string `json:"type"`
	Key           string `json:"key"`
	EventID       string `json:"eventId"`
	CorrelationID string `json:"correlationId"`
	// Outcome is the event's outcome as reelay_events_total counts it.
	Outcome  string `json:"outcome"`
	Attempts int    `json:"attempts"`
	// Error is why it failed, for the outcomes other than applied and duplicate.
	Error string `json:"error,omitempty"`
	// TraceID is the trace the event was handled in, when tracing is on.
	TraceID string `json:"traceId,omitempty"`
	// Payload is the start of the value when it is UTF-8; PayloadBytes is its size.
	Payload      string `json:"payload"`
	PayloadBytes int    `json:"payloadBytes"`
}

// RecentEvents keeps the last RecentCapacity events the router handled.
// The zero value is ready to use; it is safe for concurrent use.
type RecentEvents struct {
	mu   sync.Mutex
	ring []HandledEvent // allocated on first Add
	seq  uint64         // events added so far; the newest is ring[(seq-1)%cap]
}

// Add keeps e, numbered, in place of the oldest event once the ring is full.
func (r *RecentEvents) Add(e HandledEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ring == nil {
		r.ring = make([]HandledEvent, RecentCapacity)
	}
	r.seq++
	e.Seq = r.seq
	r.ring[(r.seq-1)%RecentCapacity] = e
}

// List returns up to limit events, newest first (all kept when limit is 0
// or more than kept).
func (r *RecentEvents) List(limit int) []HandledEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := int(min(r.seq, RecentCapacity))
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]HandledEvent, n)
	for i := range n {
		out[i] = r.ring[(r.seq-1-uint64(i))%RecentCapacity]
	}
	return out
}

// recentEvents adds each event's final outcome to r. It runs just inside
// outcome, so it sees what outcome counts.
func recentEvents(r *RecentEvents, group, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			r.Add(handled(msg, err, group, handler))
			return out, err
		}
	}
}

// handled describes msg after its handler returned err, every string cut
// and copied so that the ring holds no record's memory.
func handled(msg *message.Message, err error, group, handler string) HandledEvent {
	ctx := msg.Context()
	var (
		rec             kafka.RecordInfo
		typ, id, corrID string
	)
	if d, ok := decodedFrom(msg); ok && d.err == nil {
		rec, typ, id, corrID = d.rec, d.env.Type, d.env.ID, d.env.CorrelationID
	} else {
		rec, _ = kafka.RecordFromContext(ctx)
		ident := events.IdentityOf(msg.Metadata, msg.Payload)
		typ, id, corrID = eventType(msg), ident.ID, ident.CorrelationID
	}
	attempts := attemptsOf(msg)
	e := HandledEvent{
		Time: time.Now().UTC(), Group: group, Handler: handler, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
		Type: bounded(typ, recentAttributeBytes), Key: string(cutAtRune(rec.Key, recentKeyBytes)),
		EventID: bounded(id, recentAttributeBytes), CorrelationID: bounded(corrID, recentAttributeBytes),
		Outcome: outcomeOf(msg, err), Attempts: attempts, PayloadBytes: len(msg.Payload),
	}
	if rec.Topic == "" {
		e.Topic = message.SubscribeTopicFromCtx(ctx)
	}
	switch {
	case err != nil:
		e.Error = bounded(err.Error(), recentErrorBytes)
	case e.Outcome == "dead_lettered":
		e.Error = bounded(msg.Metadata.Get(events.DLQError), recentErrorBytes)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		e.TraceID = sc.TraceID().String()
	}
	if p := cutAtRune(msg.Payload, recentPayloadBytes); utf8.Valid(p) {
		e.Payload = string(p)
	}
	return e
}

// eventType is the ce_type of a binary-mode record, or the type of a
// structured one.
func eventType(msg *message.Message) string {
	if !events.IsStructured(msg.Metadata) {
		return msg.Metadata.Get(events.HeaderType)
	}
	var s struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(msg.Payload, &s) // unreadable: no type to show
	return s.Type
}

// bounded is s cut to at most n bytes at a rune boundary, copied so that it
// keeps no larger string alive.
func bounded(s string, n int) string { return strings.Clone(cutAtRune(s, n)) }

// cutAtRune is s cut to at most n bytes at a rune boundary (not copied).
func cutAtRune[T ~string | ~[]byte](s T, n int) T {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}
