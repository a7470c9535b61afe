package kafka

import (
	"context"
	"time"
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
	info, ok := ctx.Value(recordKey{}).(*RecordInfo)
	if !ok {
		return RecordInfo{}, false
	}
	return *info, true
}

// deliveryContext is ctx carrying a delivered record's RecordInfo, its
// sequencer and its settler: one allocation for all three, which are read
// per message without allocating.
type deliveryContext struct {
	context.Context
	info    RecordInfo
	seq     sequencer // holds the subscriber and the delivery, for Settle too
	settler settler
}

func newDeliveryContext(ctx context.Context, s *KeyedSubscriber, d delivery) *deliveryContext {
	rec := d.rec
	return &deliveryContext{Context: ctx, seq: sequencer{s: s, d: d}, info: RecordInfo{
		Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Timestamp: rec.Timestamp,
	}}
}

func (c *deliveryContext) Value(key any) any {
	switch key.(type) {
	case recordKey:
		return &c.info
	case sequencerKey:
		return &c.seq
	case settlerKey:
		return c
	}
	return c.Context.Value(key)
}
