package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Kafka header names of the CloudEvents Kafka binding (binary mode) and
// Reelay's own.
const (
	HeaderSpecVersion   = "ce_specversion"
	HeaderID            = "ce_id"
	HeaderType          = "ce_type"
	HeaderSource        = "ce_source"
	HeaderTime          = "ce_time"
	HeaderContentType   = "content-type"
	HeaderCorrelationID = "correlation_id"
)

// Content types of the two CloudEvents modes.
const (
	ContentTypeJSON       = "application/json"
	ContentTypeCloudEvent = "application/cloudevents+json"
)

// SpecVersion is the CloudEvents version Reelay produces and accepts.
const SpecVersion = "1.0"

// Envelope is one event: its CloudEvents attributes, the Kafka key and the
// JSON data. The zero value is not a valid event; build one with New.
type Envelope struct {
	ID            string
	Type          string
	Source        string
	Time          time.Time
	CorrelationID string
	// Key is the Kafka record key: the entity id of the topic table.
	Key  string
	Data json.RawMessage
}

// New builds an envelope with a fresh UUID for data of the given type.
func New(eventType, source, key string, data any) (Envelope, error) {
	return NewWithID(uuid.NewString(), eventType, source, key, data)
}

// NewWithID is New with a caller-chosen event id, for producers that must
// produce the same id again when they retry.
func NewWithID(id, eventType, source, key string, data any) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s: %w", eventType, err)
	}
	return Envelope{ID: id, Type: eventType, Source: source, Time: time.Now().UTC(), Key: key, Data: raw}, nil
}

// Headers are the binary-mode Kafka headers of e.
func (e Envelope) Headers() map[string]string {
	h := map[string]string{
		HeaderSpecVersion: SpecVersion,
		HeaderID:          e.ID,
		HeaderType:        e.Type,
		HeaderSource:      e.Source,
		HeaderTime:        e.Time.UTC().Format(time.RFC3339Nano),
		HeaderContentType: ContentTypeJSON,
	}
	if e.CorrelationID != "" {
		h[HeaderCorrelationID] = e.CorrelationID
	}
	return h
}

// structured is the JSON form of a structured-mode CloudEvent.
type structured struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	CorrelationID   string          `json:"correlationid"`
	Data            json.RawMessage `json:"data"`
}

// Decode reads an event from a Kafka record's headers and value, in binary
// mode or, when content-type is application/cloudevents+json, in structured
// mode. Any error wraps ErrMalformed.
func Decode(headers map[string]string, key string, value []byte) (Envelope, error) {
	if IsStructured(headers) {
		return decodeStructured(headers, key, value)
	}
	e := Envelope{
		ID:            headers[HeaderID],
		Type:          headers[HeaderType],
		Source:        headers[HeaderSource],
		CorrelationID: headers[HeaderCorrelationID],
		Key:           key,
		Data:          value,
	}
	return e, finish(&e, headers[HeaderSpecVersion], headers[HeaderTime])
}

// IsStructured reports whether the headers announce a structured-mode event.
func IsStructured(headers map[string]string) bool {
	return strings.HasPrefix(headers[HeaderContentType], ContentTypeCloudEvent)
}

func decodeStructured(headers map[string]string, key string, value []byte) (Envelope, error) {
	var s structured
	if err := json.Unmarshal(value, &s); err != nil {
		return Envelope{}, Malformed("structured event is not a JSON object: %v", err)
	}
	if s.DataContentType != "" && !strings.HasPrefix(s.DataContentType, ContentTypeJSON) {
		return Envelope{}, Malformed("datacontenttype %q is not JSON", s.DataContentType)
	}
	e := Envelope{ID: s.ID, Type: s.Type, Source: s.Source, CorrelationID: s.CorrelationID, Key: key, Data: s.Data}
	if e.CorrelationID == "" {
		e.CorrelationID = headers[HeaderCorrelationID]
	}
	return e, finish(&e, s.SpecVersion, s.Time)
}

// finish checks the required attributes and parses the time.
func finish(e *Envelope, specVersion, at string) error {
	switch {
	case specVersion != SpecVersion:
		return Malformed("specversion %q is not %s", specVersion, SpecVersion)
	case e.ID == "":
		return Malformed("id is required")
	case e.Type == "":
		return Malformed("type is required")
	case e.Source == "":
		return Malformed("source is required")
	}
	trimmed := bytes.TrimSpace(e.Data)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return Malformed("data is not a JSON object")
	}
	if at == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Malformed("time %q is not RFC 3339", at)
	}
	e.Time = t
	return nil
}

// IDOf returns the event id of a Kafka record without a full decode, or ""
// when it has none. Consumers use it to key their inbox.
func IDOf(headers map[string]string, value []byte) string {
	if !IsStructured(headers) {
		return headers[HeaderID]
	}
	var s struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(value, &s) != nil {
		return ""
	}
	return s.ID
}
