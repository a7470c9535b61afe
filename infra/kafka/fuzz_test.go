package kafka_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// FuzzUnmarshal feeds arbitrary records to the Kafka unmarshaler: it never
// fails (a malformed record must reach its dead-letter topic, not stop the
// partition), never keeps a header only Reelay may write, gives every
// message a bounded, non-empty id, and builds the same message from
// Sarama's record (Unmarshal) as from franz-go's (UnmarshalRecord).
func FuzzUnmarshal(f *testing.F) {
	f.Add("dlq_attempts", "9223372036854775807", "ce_id", strings.Repeat("i", 8000), []byte(`{}`))
	f.Add("partition_key", "forged", "content-type", "application/cloudevents+json", []byte(`{"id":"1","source":"s"`))
	f.Add("content-type", "APPLICATION/CLOUDEVENTS+JSON", "x", "y", []byte(`{"specversion":"1.0","id":"1","type":"t","source":"s","data_base64":"!!"}`))
	f.Add("", "", "", "", []byte(nil))
	f.Add("_watermill_message_uuid", "0b6f4d8e-5d8a-4c61-9a0e-2a4b1f3c9d7e", "x", "y", []byte(`{}`))
	f.Add("_watermill_message_uuid", "0b6f4d8e-5d8a-5c61-9a0e-2a4b1f3c9d7e", "ce_id", "1", []byte(`{}`))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, value []byte) {
		rec := &sarama.ConsumerMessage{Topic: "movie-events", Partition: 3, Offset: 42, Value: value,
			Headers: []*sarama.RecordHeader{{Key: []byte(k1), Value: []byte(v1)}, nil, {Key: []byte(k2), Value: []byte(v2)}}}
		msg, err := kafka.Marshaler{}.Unmarshal(rec)
		if err != nil {
			t.Fatalf("Unmarshal failed: %v", err)
		}
		if msg.UUID == "" || len(msg.UUID) > 256 {
			t.Fatalf("message id %q", msg.UUID)
		}
		for k := range msg.Metadata {
			if k == kafka.MetadataKey || strings.HasPrefix(k, events.DLQHeaderPrefix) {
				t.Fatalf("kept header %q from the record", k)
			}
		}
		krec := &kgo.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Value: value,
			Headers: []kgo.RecordHeader{{Key: k1, Value: []byte(v1)}, {Key: k2, Value: []byte(v2)}}}
		fmsg, err := kafka.Marshaler{}.UnmarshalRecord(krec)
		if err != nil {
			t.Fatalf("UnmarshalRecord failed: %v", err)
		}
		if fmsg.UUID != msg.UUID || !reflect.DeepEqual(fmsg.Metadata, msg.Metadata) || string(fmsg.Payload) != string(msg.Payload) {
			t.Fatalf("franz-go record gives %q %v, Sarama record %q %v", fmsg.UUID, fmsg.Metadata, msg.UUID, msg.Metadata)
		}
	})
}
