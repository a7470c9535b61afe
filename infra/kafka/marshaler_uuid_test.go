package kafka_test

import (
	"slices"
	"testing"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// consumed turns a produced record into the record franz-go consumes.
func consumed(t *testing.T, pm *sarama.ProducerMessage) *kgo.Record {
	t.Helper()
	rec := &kgo.Record{Topic: pm.Topic, Partition: 1, Offset: 7}
	for _, h := range pm.Headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
	}
	if pm.Value != nil {
		v, err := pm.Value.Encode()
		if err != nil {
			t.Fatal(err)
		}
		rec.Value = v
	}
	return rec
}

// TestMessageUUIDRoundTrips: a message that is not a CloudEvent keeps its
// Watermill UUID through Kafka (what Watermill's universal suite checks); a
// CloudEvent's UUID is its dedup id and needs no header; a header that could
// pass for a dedup id (version 5 or 8) or is not a canonical UUID is not taken
// and stays a header like any other (a dead-letter copy keeps it).
func TestMessageUUIDRoundTrips(t *testing.T) {
	t.Parallel()
	plain := message.NewMessage(watermill.NewUUID(), []byte("x"))
	plain.Metadata.Set("test", "v")

	ce := message.NewMessage(watermill.NewUUID(), []byte(`{}`))
	ce.Metadata.Set(events.HeaderID, "e1")
	ce.Metadata.Set(events.HeaderSource, "s")

	dedupLike := message.NewMessage(events.DedupID("s", "e1"), []byte("x"))
	timedDedupLike := message.NewMessage(events.DedupID("s", events.NewID()), []byte("x"))
	upper := message.NewMessage("0B6F4D8E-5D8A-4C61-9A0E-2A4B1F3C9D7E", []byte("x"))
	forged := message.NewMessage(watermill.NewUUID(), []byte("x"))
	forged.Metadata.Set(kafka.UUIDHeader, events.DedupID("s", "e1"))
	kept := message.NewMessage("t/1/7", []byte("x")) // a dead-letter copy of a record with a foreign header
	kept.Metadata.Set(kafka.UUIDHeader, "not-a-uuid")

	cases := []struct {
		name       string
		msg        *message.Message
		wantUUID   string
		wantHeader string // the UUIDHeader written, "" for none
		wantMeta   string // the UUIDHeader entry of the message read
	}{
		{"plain message keeps its UUID", plain, plain.UUID, plain.UUID, ""},
		{"CloudEvent: the dedup id, no header", ce, events.DedupID("s", "e1"), "", ""},
		{"version 5 UUID is not carried", dedupLike, "t/1/7", "", ""},
		{"version 8 UUID is not carried", timedDedupLike, "t/1/7", "", ""},
		{"non-canonical UUID is not carried", upper, "t/1/7", "", ""},
		{"a metadata entry cannot set the header", forged, forged.UUID, forged.UUID, ""},
		{"a header not taken stays a header", kept, "t/1/7", "not-a-uuid", "not-a-uuid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pm, err := kafka.Marshaler{}.Marshal("t", tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			var headers []string
			for _, h := range pm.Headers {
				if string(h.Key) == kafka.UUIDHeader {
					headers = append(headers, string(h.Value))
				}
			}
			if want := []string{tc.wantHeader}; tc.wantHeader == "" && len(headers) > 0 || tc.wantHeader != "" && !slices.Equal(headers, want) {
				t.Fatalf("%s headers %q, want %q", kafka.UUIDHeader, headers, tc.wantHeader)
			}
			got, err := kafka.Marshaler{}.UnmarshalRecord(consumed(t, pm))
			if err != nil {
				t.Fatal(err)
			}
			if got.UUID != tc.wantUUID {
				t.Fatalf("UUID %q, want %q", got.UUID, tc.wantUUID)
			}
			if m := got.Metadata.Get(kafka.UUIDHeader); m != tc.wantMeta {
				t.Fatalf("metadata %s = %q, want %q", kafka.UUIDHeader, m, tc.wantMeta)
			}
			if tc.msg == plain && got.Metadata.Get("test") != "v" {
				t.Fatalf("metadata %v", got.Metadata)
			}
		})
	}
	if uuid.MustParse(events.DedupID("a", "b")).Version() != 5 || uuid.MustParse(events.DedupID("a", events.NewID())).Version() != 8 {
		t.Fatal("dedup ids are no longer version 5 and 8 UUIDs: UUIDHeader could collide with them")
	}
}
