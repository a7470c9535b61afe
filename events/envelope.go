package events

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Kafka header names of the CloudEvents Kafka binding (binary mode).
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderTime        = "ce_time"
	// HeaderContentType is the data's media type (the datacontenttype
	// attribute) in binary mode, the event format in structured mode.
	HeaderContentType = "content-type"
	// HeaderCorrelationID carries the correlationid extension attribute:
	// the id of the request or flow that caused the event.
	HeaderCorrelationID = "ce_correlationid"
	// HeaderLegacyCorrelationID is where Reelay put the correlation id before
	// it became a CloudEvents extension. Still read when ce_correlationid is
	// absent; no longer written.
	HeaderLegacyCorrelationID = "correlation_id"
)

// Content types of the two CloudEvents modes: the data's type in binary
// mode, the event format in structured mode.
const (
	ContentTypeJSON       = "application/json"
	ContentTypeCloudEvent = "application/cloudevents+json"
)

// contentTypeCloudEvents is the media type prefix that announces structured
// mode in any format (Kafka binding §3).
const contentTypeCloudEvents = "application/cloudevents"

// SpecVersion is the CloudEvents version Reelay produces and accepts.
const SpecVersion = "1.0"

// MaxAttributeLength bounds, in bytes, the id, source, type and correlationid
// attributes of an incoming event.
const MaxAttributeLength = 256

// Envelope is one event: its CloudEvents attributes, the Kafka key and the
// JSON data. The zero value is not a valid event; build one with New.
type Envelope struct {
	// ID identifies the event among those of its Source; another source may
	// use the same id for another event. Deduplicate with DedupID.
	ID     string
	Type   string
	Source string
	// Time is when the event happened; zero when the producer did not say.
	Time time.Time
	// CorrelationID is the correlationid extension; empty when absent.
	CorrelationID string
	// Key is the Kafka record key: the entity id of the topic table.
	Key  string
	Data json.RawMessage
}

// New builds an envelope with a fresh id (NewID) for data of the given type.
func New(eventType, source, key string, data any) (Envelope, error) {
	return NewWithID(NewID(), eventType, source, key, data)
}

// NewID returns a fresh event id: a time-ordered UUID (version 7), so that
// the rows keyed by the events' DedupIDs are appended in time order.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// NewWithID is New with a caller-chosen event id, for producers that must
// produce the same id again when they retry.
func NewWithID(id, eventType, source, key string, data any) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s: %w", eventType, err)
	}
	return Envelope{ID: id, Type: eventType, Source: source, Time: time.Now().UTC(), Key: key, Data: raw}, nil
}

// dedupNamespace is the UUID namespace of DedupID. Changing it changes every
// key: events redelivered across the change would be applied again.
var dedupNamespace = uuid.MustParse("06234013-011e-49d5-8113-9ffe32bd0f35")

// DedupID returns the key under which consumers apply the event with this
// source and id at most once: a name-based UUID (version 5) of the pair, 36
// characters whatever their length. CloudEvents makes source + id unique, so
//   - the same event delivered again (a redelivery, a producer's retry with
//     the same id, the same event once in binary and once in structured
//     mode) has the same key and takes effect once;
//   - events of different sources that happen to share an id have different
//     keys and all take effect.
//
// When id is a time-ordered UUID (version 7, what New makes), the key's
// first 48 bits are the id's millisecond timestamp instead of the hash's
// (and its version is 8): keys of events made at about the same time sort
// together, so the rows an inbox or a read model keys by them are appended
// to a few index pages instead of one random page each. The other 74 bits
// are the hash's. The key of any other id is the plain version 5 UUID.
func DedupID(source, id string) string {
	// The length prefix keeps the pair unambiguous: ("a/b", "c") and
	// ("a", "/bc") are different names.
	// uuid.NewSHA1(dedupNamespace, name), computed without its hash and
	// slice allocations: it runs for every record consumed.
	var buf [256]byte
	b := append(buf[:0], dedupNamespace[:]...)
	b = strconv.AppendInt(b, int64(len(source)), 10)
	b = append(b, ':')
	b = append(append(b, source...), id...)
	sum := sha1.Sum(b)
	var u uuid.UUID
	copy(u[:], sum[:])
	u[6] = u[6]&0x0f | 0x50 // version 5
	if t, ok := uuidV7Time(id); ok {
		copy(u[:6], t[:])
		u[6] = u[6]&0x0f | 0x80 // version 8: custom, time-ordered
	}
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

// uuidV7Time returns the 48-bit millisecond timestamp of id when id is a
// UUID of version 7.
func uuidV7Time(id string) (t [6]byte, ok bool) {
	if len(id) != 36 {
		return t, false
	}
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return t, false
	}
	copy(t[:], u[:6])
	return t, true
}

// DedupID is DedupID(e.Source, e.ID): the key of the router's inbox, and the
// key under which a read model stores a row per event.
func (e Envelope) DedupID() string { return DedupID(e.Source, e.ID) }

// Header is one Kafka record header of an envelope.
type Header struct{ Key, Value string }

// AppendHeaders appends the binary-mode Kafka headers of e to dst, each
// once, in a fixed order, and returns the extended slice. The correlation
// id, when set, is the correlationid extension (ce_correlationid).
func (e Envelope) AppendHeaders(dst []Header) []Header {
	dst = append(dst,
		Header{HeaderSpecVersion, SpecVersion},
		Header{HeaderID, e.ID},
		Header{HeaderType, e.Type},
		Header{HeaderSource, e.Source},
		Header{HeaderTime, e.Time.UTC().Format(time.RFC3339Nano)},
		Header{HeaderContentType, ContentTypeJSON})
	if e.CorrelationID != "" {
		dst = append(dst, Header{HeaderCorrelationID, e.CorrelationID})
	}
	return dst
}

// Headers are AppendHeaders as a map: what Decode reads back.
func (e Envelope) Headers() map[string]string {
	h := map[string]string{}
	for _, kv := range e.AppendHeaders(nil) {
		h[kv.Key] = kv.Value
	}
	return h
}

// structured is the JSON form of a structured-mode CloudEvent (JSON event
// format). Attributes Reelay does not use are ignored.
type structured struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	CorrelationID   json.RawMessage `json:"correlationid"`
	Data            json.RawMessage `json:"data"`
	DataBase64      *string         `json:"data_base64"`
}

// Decode reads an event from a Kafka record's headers and value. Any error
// wraps ErrMalformed: retrying cannot fix the record.
//
// Structured mode is chosen when content-type starts with
// application/cloudevents (in any case); of its formats only JSON is read.
// Otherwise the record is in binary mode, and content-type is the data's
// datacontenttype; a record without content-type is read as JSON.
//
// Reelay handles JSON data only: the datacontenttype must be application/json,
// text/json or any +json type (parameters and case do not matter), and the
// data must be a JSON object: the binary-mode value, or in structured mode
// data_base64 decoded, or data as a JSON object or as a string that holds
// one (how the Go SDK writes +json data). The id, source and type are required, at most MaxAttributeLength
// bytes of UTF-8 without control characters. A correlation id that breaks
// the same rule is dropped, not an error. An absent time leaves Time zero.
func Decode(headers map[string]string, key string, value []byte) (Envelope, error) {
	if IsStructured(headers) {
		return decodeStructured(headers, key, value)
	}
	if ct := headers[HeaderContentType]; ct != "" && !isJSON(ct) {
		return Envelope{}, Malformed("content-type %s is not JSON: Reelay handles JSON data only", clip(ct))
	}
	e := Envelope{
		ID:            headers[HeaderID],
		Type:          headers[HeaderType],
		Source:        headers[HeaderSource],
		CorrelationID: headerCorrelationID(headers),
		Key:           key,
		Data:          value,
	}
	return e, finish(&e, headers[HeaderSpecVersion], headers[HeaderTime])
}

// IsStructured reports whether the headers announce a structured-mode event:
// a content-type that starts with application/cloudevents, in any case.
func IsStructured(headers map[string]string) bool {
	return strings.HasPrefix(mediaType(headers[HeaderContentType]), contentTypeCloudEvents)
}

func decodeStructured(headers map[string]string, key string, value []byte) (Envelope, error) {
	if ct := headers[HeaderContentType]; mediaType(ct) != ContentTypeCloudEvent {
		return Envelope{}, Malformed("event format %s is not supported: Reelay reads %s", clip(ct), ContentTypeCloudEvent)
	}
	var s structured
	if err := json.Unmarshal(value, &s); err != nil {
		return Envelope{}, Malformed("structured event is not a JSON object of CloudEvents attributes: %v", err)
	}
	if s.DataContentType != "" && !isJSON(s.DataContentType) {
		return Envelope{}, Malformed("datacontenttype %s is not JSON: Reelay handles JSON data only", clip(s.DataContentType))
	}
	data := s.Data
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '"' {
		// A JSON string is the text of the data, as the JSON format writes
		// non-JSON data and the Go SDK writes +json data. Reelay needs an
		// object, so the string's content is what is checked.
		var text string
		if err := json.Unmarshal(t, &text); err != nil {
			return Envelope{}, Malformed("data: %v", err)
		}
		data = []byte(text)
	}
	if s.DataBase64 != nil {
		if s.Data != nil {
			return Envelope{}, Malformed("data and data_base64 are both set")
		}
		raw, err := base64.StdEncoding.DecodeString(*s.DataBase64)
		if err != nil {
			return Envelope{}, Malformed("data_base64 is not base64: %v", err)
		}
		data = raw
	}
	e := Envelope{ID: s.ID, Type: s.Type, Source: s.Source, CorrelationID: jsonCorrelationID(s.CorrelationID), Key: key, Data: data}
	if e.CorrelationID == "" {
		e.CorrelationID = headerCorrelationID(headers)
	}
	return e, finish(&e, s.SpecVersion, s.Time)
}

// finish checks the required attributes and the data, and parses the time.
func finish(e *Envelope, specVersion, at string) error {
	if specVersion != SpecVersion {
		return Malformed("specversion %s is not %s", clip(specVersion), SpecVersion)
	}
	for _, a := range [...]struct{ name, value string }{{"id", e.ID}, {"type", e.Type}, {"source", e.Source}} {
		if err := checkAttribute(a.name, a.value); err != nil {
			return err
		}
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
		return Malformed("time %s is not RFC 3339", clip(at))
	}
	e.Time = t
	return nil
}

// checkAttribute requires a bounded, printable attribute. The message never
// repeats the value, which may be long.
func checkAttribute(name, v string) error {
	switch {
	case v == "":
		return Malformed("%s is required", name)
	case len(v) > MaxAttributeLength:
		return Malformed("%s is longer than %d bytes", name, MaxAttributeLength)
	case !utf8.ValidString(v):
		return Malformed("%s is not valid UTF-8", name)
	case strings.ContainsFunc(v, unicode.IsControl):
		return Malformed("%s contains a control character", name)
	}
	return nil
}

// usableAttribute says whether checkAttribute accepts v, without building
// the error that says why not (an optional attribute is often absent).
func usableAttribute(v string) bool {
	return v != "" && len(v) <= MaxAttributeLength && utf8.ValidString(v) && !strings.ContainsFunc(v, unicode.IsControl)
}

// Identity is what the router needs of a record before it decodes it: the
// attributes that key and label it. Nothing in it is validated but
// CorrelationID; Decode judges the rest.
type Identity struct {
	ID     string
	Source string
	// CorrelationID is the correlationid extension (or the legacy
	// correlation_id header), or "" when absent or not a bounded printable
	// string.
	CorrelationID string
}

// IdentityOf reads the id, source and correlation id of a Kafka record in
// binary or structured mode without a full decode. Missing or unreadable
// attributes are "".
func IdentityOf(headers map[string]string, value []byte) Identity {
	if !IsStructured(headers) {
		return Identity{ID: headers[HeaderID], Source: headers[HeaderSource], CorrelationID: headerCorrelationID(headers)}
	}
	var s struct {
		ID            string          `json:"id"`
		Source        string          `json:"source"`
		CorrelationID json.RawMessage `json:"correlationid"`
	}
	if json.Unmarshal(value, &s) != nil {
		return Identity{CorrelationID: headerCorrelationID(headers)}
	}
	id := Identity{ID: s.ID, Source: s.Source, CorrelationID: jsonCorrelationID(s.CorrelationID)}
	if id.CorrelationID == "" {
		id.CorrelationID = headerCorrelationID(headers)
	}
	return id
}

// DedupID is DedupID(i.Source, i.ID), or "" when either is missing.
func (i Identity) DedupID() string {
	if i.ID == "" || i.Source == "" {
		return ""
	}
	return DedupID(i.Source, i.ID)
}

// headerCorrelationID reads the correlation id of binary mode, falling back
// to the legacy header. An invalid one counts as absent.
func headerCorrelationID(headers map[string]string) string {
	for _, h := range [...]string{HeaderCorrelationID, HeaderLegacyCorrelationID} {
		if v := headers[h]; usableAttribute(v) {
			return v
		}
	}
	return ""
}

// jsonCorrelationID reads a structured event's correlationid attribute: a
// bounded printable JSON string, else "".
func jsonCorrelationID(raw json.RawMessage) string {
	var v string
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || !usableAttribute(v) {
		return ""
	}
	return v
}

// isJSON reports whether a content type names JSON: application/json,
// text/json or a +json structured syntax suffix (RFC 6839), with or without
// parameters, in any case.
func isJSON(contentType string) bool {
	mt := mediaType(contentType)
	return mt == ContentTypeJSON || mt == "text/json" || strings.Contains(mt, "/") && strings.HasSuffix(mt, "+json")
}

// mediaType is a content type's media type, lower case, without parameters.
func mediaType(contentType string) string {
	if i := strings.IndexByte(contentType, ';'); i >= 0 {
		contentType = contentType[:i]
	}
	return strings.ToLower(strings.TrimSpace(contentType))
}

// clip quotes an input value for an error message, cut to 64 bytes: error
// texts travel into logs and dead-letter headers.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
