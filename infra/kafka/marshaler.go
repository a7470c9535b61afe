package kafka

import (
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
)

// MetadataKey is the message metadata entry that holds the Kafka record key.
// The marshaler moves it to the key and does not write it as a header.
const MetadataKey = "partition_key"

// Marshaler maps Watermill messages to Kafka records one to one: the payload
// is the value, the metadata are the headers (CloudEvents binary mode when
// the metadata are an envelope's), MetadataKey is the key.
//
// Unmarshal never fails, so that a malformed record reaches the handler and
// its dead-letter topic instead of stopping the partition.
type Marshaler struct{}

// Marshal builds the record.
func (Marshaler) Marshal(topic string, msg *message.Message) (*sarama.ProducerMessage, error) {
	headers := make([]sarama.RecordHeader, 0, len(msg.Metadata))
	for k, v := range msg.Metadata {
		if k != MetadataKey {
			headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		}
	}
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(msg.Payload), Headers: headers}
	if key := msg.Metadata.Get(MetadataKey); key != "" {
		pm.Key = sarama.StringEncoder(key)
	}
	return pm, nil
}

// Unmarshal builds the message. Its metadata are the record's headers minus
// those that only Reelay may write: the dead-letter headers (prefix
// events.DLQHeaderPrefix) and MetadataKey. A record cannot forge its attempt
// count, its failure history or the key of its dead-letter copy; those
// headers are also absent from the dead-letter copy of such a record. A
// reader of a dead-letter topic that needs its dlq_ headers must read the
// records, not this marshaler's messages.
//
// The message UUID is the event's dedup id (events.DedupID of its source and
// id): the key of the router's inbox, equal for every delivery of one event
// and different for two sources' events that share an id. A record without
// id or source gets an id derived from its position, stable across
// redeliveries; it fails decoding anyway.
func (Marshaler) Unmarshal(rec *sarama.ConsumerMessage) (*message.Message, error) {
	md := make(message.Metadata, len(rec.Headers))
	for _, h := range rec.Headers {
		if h == nil {
			continue
		}
		k := string(h.Key)
		if k == MetadataKey || strings.HasPrefix(k, events.DLQHeaderPrefix) {
			continue
		}
		md[k] = string(h.Value)
	}
	id := events.IdentityOf(md, rec.Value).DedupID()
	if id == "" {
		id = fmt.Sprintf("%s/%d/%d", rec.Topic, rec.Partition, rec.Offset)
	}
	msg := message.NewMessage(id, rec.Value)
	msg.Metadata = md
	return msg, nil
}
