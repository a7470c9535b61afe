package ops

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reelay/reelay/events"
)

// Status of a dead letter.
const (
	// StatusPending: dead-lettered, not yet replayed or discarded.
	StatusPending = "pending"
	// StatusReplaying: selected by a replay that has not sent it yet.
	StatusReplaying = "replaying"
	// StatusReplayed: sent to the group's replay topic.
	StatusReplayed = "replayed"
	// StatusDiscarded: an operator discarded it, with a reason.
	StatusDiscarded = "discarded"
)

// PreviewBytes bounds the payload preview of a listing.
const PreviewBytes = 256

// Position is where a record is in Kafka.
type Position struct {
	Topic     string     `json:"topic"`
	Partition int32      `json:"partition"`
	Offset    int64      `json:"offset"`
	Timestamp *time.Time `json:"timestamp,omitempty"`
}

// Discard records who discarded a dead letter, when and why.
type Discard struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// DeadLetter is one record of a group's dead-letter topic, identified by its
// Partition and Offset there, with the failure metadata of its headers
// (events.DLQ*) and its status.
type DeadLetter struct {
	Group          string            `json:"group"`
	Partition      int32             `json:"partition"`
	Offset         int64             `json:"offset"`
	Original       Position          `json:"original"`
	Key            string            `json:"key"`
	Handler        string            `json:"handler"`
	Error          string            `json:"error"`
	ErrorClass     string            `json:"errorClass"`
	Attempts       int               `json:"attempts"`
	FirstFailure   *time.Time        `json:"firstFailure,omitempty"`
	LastFailure    *time.Time        `json:"lastFailure,omitempty"`
	DeadLetteredAt time.Time         `json:"deadLetteredAt"`
	EventID        string            `json:"eventId,omitempty"`
	EventType      string            `json:"eventType,omitempty"`
	EventSource    string            `json:"eventSource,omitempty"`
	CorrelationID  string            `json:"correlationId,omitempty"`
	ReplayCount    int               `json:"replayCount"`
	FromReplay     string            `json:"fromReplay,omitempty"`
	Truncated      bool              `json:"truncated"`
	Status         string            `json:"status"`
	ReplayID       string            `json:"replayId,omitempty"`
	Discard        *Discard          `json:"discard,omitempty"`
	Headers        map[string]string `json:"headers"`
	PayloadSize    int64             `json:"payloadSize"`
	PayloadPreview string            `json:"payloadPreview"`

	// RawKey, RawHeaders and Payload are the record's bytes, exactly, for a
	// replay; the admin API shows them only in full view (Full).
	RawKey     []byte            `json:"-"`
	RawHeaders map[string][]byte `json:"-"`
	Payload    []byte            `json:"-"`
}

// FullDeadLetter is a dead letter with its whole payload: as text when it
// is UTF-8, else base64.
type FullDeadLetter struct {
	DeadLetter
	Payload       *string `json:"payload,omitempty"`
	PayloadBase64 []byte  `json:"payloadBase64,omitempty"`
}

// Full returns d with its whole payload.
func (d DeadLetter) Full() FullDeadLetter {
	f := FullDeadLetter{DeadLetter: d}
	if utf8.Valid(d.Payload) {
		s := string(d.Payload)
		f.Payload = &s
	} else {
		f.PayloadBase64 = d.Payload
	}
	return f
}

// Record is a record of a dead-letter topic as Kafka gave it.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	Key       []byte
	Headers   map[string][]byte
	Value     []byte
}

// ParseDeadLetter reads the dead letter of group in rec. Whatever the
// headers hold, it returns a dead letter: a missing or malformed field is
// left empty, never an error, so that every dead letter can be listed.
func ParseDeadLetter(group string, rec Record) DeadLetter {
	// Text that a database column holds: valid UTF-8 without NUL, whatever
	// the producer sent (the bytes stay whole in RawHeaders).
	h := func(k string) string { return Text(string(rec.Headers[k])) }
	num := func(k string) int64 { n, _ := strconv.ParseInt(h(k), 10, 64); return n }
	d := DeadLetter{
		Group: group, Partition: rec.Partition, Offset: rec.Offset, DeadLetteredAt: rec.Timestamp.UTC(),
		Original: Position{Topic: h(events.DLQOriginalTopic), Partition: int32(num(events.DLQPartition)),
			Offset: num(events.DLQOffset), Timestamp: parseTime(h(events.DLQTimestamp))},
		Handler: h(events.DLQHandler), Error: h(events.DLQError),
		ErrorClass: h(events.DLQErrorClass), Attempts: int(num(events.DLQAttempts)),
		FirstFailure: parseTime(h(events.DLQFirstFailure)), LastFailure: parseTime(h(events.DLQLastFailure)),
		EventID: h(events.HeaderID), EventType: h(events.HeaderType), EventSource: h(events.HeaderSource),
		CorrelationID: h(events.HeaderCorrelationID), ReplayCount: int(num(events.ReplayCount)),
		FromReplay: h(events.ReplayID), Truncated: h(events.DLQTruncated) == "true", Status: StatusPending,
		PayloadSize: int64(len(rec.Value)), RawKey: rec.Key, RawHeaders: rec.Headers, Payload: rec.Value,
	}
	if d.ErrorClass == "" {
		d.ErrorClass = "unknown" // dead-lettered before classes were recorded
	}
	if d.Truncated {
		d.PayloadSize = num(events.DLQOriginalSize)
	}
	d.fillViews()
	return d
}

// fillViews sets Key, Headers and PayloadPreview from the raw bytes: the
// key is the dead-letter record's, which is the original record's (a
// truncated copy's is cut; dlq_key says the same).
func (d *DeadLetter) fillViews() {
	d.Key = strings.ToValidUTF8(string(d.RawKey), "\uFFFD")
	d.Headers = make(map[string]string, len(d.RawHeaders))
	for k, v := range d.RawHeaders {
		d.Headers[k] = strings.ToValidUTF8(string(v), "\uFFFD")
	}
	p := d.Payload[:min(len(d.Payload), PreviewBytes)]
	d.PayloadPreview = strings.ToValidUTF8(string(p), "\uFFFD")
}

// WithRaw returns d with raw key, headers and payload set, and the views
// derived from them: for a store that keeps only the bytes.
func (d DeadLetter) WithRaw(key []byte, headers map[string][]byte, payload []byte) DeadLetter {
	d.RawKey, d.RawHeaders, d.Payload = key, headers, payload
	d.fillViews()
	return d
}

// Text is s as valid UTF-8 without NUL bytes: what a text column of
// either database accepts.
func Text(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

func parseTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}
