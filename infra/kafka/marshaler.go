package kafka

import (
	"fmt"
	"iter"
	"strings"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/events"
)

// MetadataKey is the message metadata entry that holds the Kafka record key.
// The marshaler moves it to the key and does not write it as a header.
const MetadataKey = "partition_key"

// UUIDHeader carries the Watermill message UUID of a message that is not a
// CloudEvent (it has no event id and source to derive its UUID from), so
// that such a message keeps its UUID through Kafka. It is the header
// watermill-kafka's own marshaler writes, so their records round-trip too.
const UUIDHeader = "_watermill_message_uuid"

// Marshaler maps Watermill messages to Kafka records one to one: the payload
// is the value, the metadata are the headers (CloudEvents binary mode when
// the metadata are an envelope's), MetadataKey is the key.
//
// Unmarshal and UnmarshalRecord never fail, so that a malformed record
// reaches the handler and its dead-letter topic instead of stopping the
// partition. They build the same message from the same record, Sarama's or
// franz-go's.
type Marshaler struct{}

// Marshal builds the record. A message without a CloudEvents identity (no
// id or no source) whose UUID is a UUID that is not a name-based one (any
// version but 5, as watermill.NewUUID makes) gets its UUID in UUIDHeader
// (in place of any UUIDHeader entry of its metadata), so that Unmarshal
// gives it back its UUID.
func (Marshaler) Marshal(topic string, msg *message.Message) (*sarama.ProducerMessage, error) {
	ident := events.IdentityOf(msg.Metadata, msg.Payload)
	carry := (ident.ID == "" || ident.Source == "") && carriableUUID(msg.UUID) // no dedup id

	var stack [16]events.Header
	headers := stack[:0]
	for k, v := range msg.Metadata {
		if k != MetadataKey && (k != UUIDHeader || !carry) {
			headers = append(headers, events.Header{Key: k, Value: v})
		}
	}
	if carry {
		headers = append(headers, events.Header{Key: UUIDHeader, Value: msg.UUID})
	}
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(msg.Payload), Headers: recordHeaders(headers)}
	if key := msg.Metadata.Get(MetadataKey); key != "" {
		pm.Key = sarama.StringEncoder(key)
	}
	return pm, nil
}

// Unmarshal builds the message of a record Sarama consumed; see
// UnmarshalRecord for the rules.
func (Marshaler) Unmarshal(rec *sarama.ConsumerMessage) (*message.Message, error) {
	headers := func(yield func(string, []byte) bool) {
		for _, h := range rec.Headers {
			if h != nil && !yield(string(h.Key), h.Value) {
				return
			}
		}
	}
	return recordMessage(rec.Topic, rec.Partition, rec.Offset, rec.Value, headers), nil
}

// UnmarshalRecord builds the message of a record franz-go consumed. Its
// metadata are the record's headers minus those that only Reelay may write:
// the dead-letter headers (prefix events.DLQHeaderPrefix), MetadataKey, and
// the replay headers (prefix events.ReplayHeaderPrefix) except on a replay
// topic (events.IsReplayTopic), which only Reelay's replays write to.
// A record cannot forge its attempt count, its failure history or the key of
// its dead-letter copy; those headers are also absent from the dead-letter
// copy of such a record. A reader of a dead-letter topic that needs its dlq_
// headers must read the records, not this marshaler's messages.
//
// The message UUID is the event's dedup id (events.DedupID of its source and
// id): the key of the router's inbox, equal for every delivery of one event
// and different for two sources' events that share an id. A record without
// id or source (it fails decoding anyway) gets the UUID in its UUIDHeader
// when that is a canonical UUID other than version 5 or 8 (dedup ids are
// of these versions, so a record cannot pass for another event in the
// inbox); that header
// then leaves the metadata (Marshal writes it again from the UUID), so the
// record's dead-letter copy has it as it came. Any other record gets an id
// derived from its position, stable across redeliveries.
func (Marshaler) UnmarshalRecord(rec *kgo.Record) (*message.Message, error) {
	headers := func(yield func(string, []byte) bool) {
		for _, h := range rec.Headers {
			if !yield(h.Key, h.Value) {
				return
			}
		}
	}
	return recordMessage(rec.Topic, rec.Partition, rec.Offset, rec.Value, headers), nil
}

// recordMessage is the one rule set behind Unmarshal and UnmarshalRecord.
func recordMessage(topic string, partition int32, offset int64, value []byte, headers iter.Seq2[string, []byte]) *message.Message {
	md := message.Metadata{}
	replay := events.IsReplayTopic(topic)
	for k, v := range headers {
		if k != MetadataKey && !strings.HasPrefix(k, events.DLQHeaderPrefix) &&
			(replay || !strings.HasPrefix(k, events.ReplayHeaderPrefix)) {
			md[k] = string(v)
		}
	}
	id := events.IdentityOf(md, value).DedupID()
	if carried := md[UUIDHeader]; id == "" && carriableUUID(carried) {
		id = carried
		delete(md, UUIDHeader)
	}
	if id == "" {
		id = fmt.Sprintf("%s/%d/%d", topic, partition, offset)
	}
	msg := message.NewMessage(id, value)
	msg.Metadata = md
	return msg
}

// carriableUUID reports whether s may travel in UUIDHeader: a UUID in
// canonical form that can never equal a dedup id (version 5, or 8 for an
// event id of version 7).
func carriableUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s && u.Version() != 5 && u.Version() != 8
}
