package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// RecordInfo says where a message of the KeyedSubscriber came from.
type RecordInfo struct {
	// Topic is the record's topic: for a pattern subscription, the topic
	// that matched, not the pattern.
	Topic     string
	Partition int32
	Offset    int64
	// Key is the record's key; nil when the record has none.
	Key []byte
	// Timestamp is the record's timestamp (producer or log-append time).
	Timestamp time.Time
}

type recordKey struct{}

// RecordFromContext returns where the message whose context ctx is came
// from; ok is false for a context the KeyedSubscriber did not make (or one
// of a message built by hand). Watermill's router keeps the values of a
// message's context in the context its handler sees.
func RecordFromContext(ctx context.Context) (RecordInfo, bool) {
	info, ok := ctx.Value(recordKey{}).(RecordInfo)
	return info, ok
}

// withRecord returns ctx carrying rec's RecordInfo.
func withRecord(ctx context.Context, rec *kgo.Record) context.Context {
	return context.WithValue(ctx, recordKey{}, RecordInfo{
		Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Timestamp: rec.Timestamp,
	})
}
