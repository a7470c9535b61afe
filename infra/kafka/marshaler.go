package kafka

import (
	"fmt"

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

// Unmarshal builds the message. Its UUID is the event id, or, for a record
// without one, an id derived from its position so that it stays stable across
// redeliveries.
func (Marshaler) Unmarshal(rec *sarama.ConsumerMessage) (*message.Message, error) {
	md := make(message.Metadata, len(rec.Headers))
	for _, h := range rec.Headers {
		if h != nil {
			md[string(h.Key)] = string(h.Value)
		}
	}
	id := events.IDOf(md, rec.Value)
	if id == "" {
		id = fmt.Sprintf("%s/%d/%d", rec.Topic, rec.Partition, rec.Offset)
	}
	msg := message.NewMessage(id, rec.Value)
	msg.Metadata = md
	return msg, nil
}
