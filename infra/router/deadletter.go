package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

var (
	// errShuttingDown wraps a failure that happened because the router is
	// closing: the message must be redelivered, not dead-lettered.
	errShuttingDown = errors.New("shutting down")
	// errDeadLetterFailed wraps a failed dead-letter publish: the record is
	// redelivered, and its partition waits.
	errDeadLetterFailed = errors.New("dead-letter publish failed")
)

// Size budgets of a dead-letter record. The publisher refuses records over
// Sarama's Producer.MaxMessageBytes (1 MiB, which Reelay keeps), Kafka's
// default max.message.bytes is 1 MiB + 12 bytes, and a topic may set less.
const (
	// deadLetterMaxBytes is the largest copy sent whole, with room for the
	// record format's own bytes.
	deadLetterMaxBytes = 1<<20 - 16<<10
	// truncatedValueBytes, truncatedHeaderBytes and truncatedKeyBytes bound a
	// truncated copy: about 80 KB in all, under any broker's limit.
	truncatedValueBytes  = 64 << 10
	truncatedHeaderBytes = 8 << 10
	truncatedKeyBytes    = 1 << 10
	// recordOverhead and headerOverhead are what a record and each header
	// cost besides their bytes (Sarama counts at most 36 and 10).
	recordOverhead = 128
	headerOverhead = 16
)

type deadLetteredKey struct{}

// deadLetter sends a message whose handler failed for good to the group's
// dead-letter topic and acks it, so that the partition moves on — whatever
// the record's size or content: a copy too large to send whole (or refused
// as too large) is sent truncated, with headers that say so. If the publish
// still fails (the broker refuses the topic, say), the message is nacked
// after a backoff, counted as dead_letter_failed, and its partition is
// reported stuck until a record of it succeeds. Failures during shutdown are
// never dead-lettered.
type deadLetter struct {
	pub    message.Publisher
	topic  string
	stuck  *stuckPartitions
	group  string
	logger *slog.Logger
	// maxBytes is the largest copy sent whole (deadLetterMaxBytes when 0).
	maxBytes int
	// backoff is the first wait after a failed publish (500 ms when 0); it
	// doubles per failure of the same partition, up to 30 s.
	backoff time.Duration
}

func (d *deadLetter) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		ctx := msg.Context()
		if err == nil {
			d.stuck.clear(ctx, d.group)
			return out, nil
		}
		if errors.Is(err, errShuttingDown) {
			return nil, err
		}
		maxBytes := d.maxBytes
		if maxBytes == 0 {
			maxBytes = deadLetterMaxBytes
		}
		dl, truncated := deadLetterCopy(msg, maxBytes)
		perr := d.pub.Publish(d.topic, dl)
		if perr != nil && !truncated && isTooLarge(perr) {
			dl, truncated = truncatedCopy(msg), true
			perr = d.pub.Publish(d.topic, dl)
		}
		if perr != nil {
			failures := d.stuck.report(ctx, d.group, perr)
			d.wait(ctx, failures)
			if ctx.Err() != nil {
				return nil, errors.Join(errShuttingDown, perr)
			}
			return nil, fmt.Errorf("%w to %s: %v (handler error: %v)", errDeadLetterFailed, d.topic, perr, err)
		}
		d.stuck.clear(ctx, d.group)
		loggerFrom(ctx, d.logger).Warn("dead-lettered", "topic", msg.Metadata.Get(events.DLQOriginalTopic),
			"partition", msg.Metadata.Get(events.DLQPartition), "offset", msg.Metadata.Get(events.DLQOffset),
			"attempts", msg.Metadata.Get(events.DLQAttempts), "truncated", truncated, "dlq", d.topic, "reason", cut(err.Error(), 512))
		msg.SetContext(context.WithValue(ctx, deadLetteredKey{}, true))
		return nil, nil
	}
}

// wait sleeps before the failed record is redelivered, longer after each
// failure of the same partition, until ctx ends.
func (d *deadLetter) wait(ctx context.Context, failures int) {
	b := d.backoff
	if b == 0 {
		b = 500 * time.Millisecond
	}
	for i := 1; i < failures && b < 30*time.Second; i++ {
		b *= 2
	}
	t := time.NewTimer(min(b, 30*time.Second))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func isDeadLettered(ctx context.Context) bool { v, _ := ctx.Value(deadLetteredKey{}).(bool); return v }

// isTooLarge reports whether a publish failed because the record is too large,
// by the client's check or the broker's.
func isTooLarge(err error) bool {
	var conf sarama.ConfigurationError
	if errors.Is(err, sarama.ErrMessageSizeTooLarge) || errors.As(err, &conf) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "too large") || strings.Contains(s, "MaxMessageBytes") ||
		strings.Contains(s, "MESSAGE_TOO_LARGE") || strings.Contains(s, "larger than the maximum")
}

// deadLetterCopy is the record sent to the dead-letter topic: the original
// value, key and headers with the failure metadata, or, when that is over
// maxBytes, a truncated copy.
func deadLetterCopy(msg *message.Message, maxBytes int) (*message.Message, bool) {
	size := recordOverhead + len(msg.Payload)
	for k, v := range msg.Metadata {
		size += headerOverhead + len(k) + len(v)
	}
	if size > maxBytes {
		return truncatedCopy(msg), true
	}
	dl := message.NewMessage(msg.UUID, msg.Payload)
	for k, v := range msg.Metadata {
		dl.Metadata.Set(k, v)
	}
	return dl, false
}

// truncatedCopy keeps the failure metadata whole, the value's first
// truncatedValueBytes, the key's first truncatedKeyBytes, and the original
// headers (by name order) that fit in truncatedHeaderBytes; it adds the
// value's size and SHA-256 and how many headers were left out.
func truncatedCopy(msg *message.Message) *message.Message {
	value := msg.Payload
	sum := sha256.Sum256(value)
	dl := message.NewMessage(msg.UUID, value[:min(len(value), truncatedValueBytes)])
	names := make([]string, 0, len(msg.Metadata))
	for k := range msg.Metadata {
		names = append(names, k)
	}
	slices.Sort(names)
	budget, dropped := truncatedHeaderBytes, 0
	for _, k := range names {
		v := msg.Metadata[k]
		switch {
		case k == kafka.MetadataKey || k == events.DLQKey:
			dl.Metadata.Set(k, cut(v, truncatedKeyBytes))
		case strings.HasPrefix(k, events.DLQHeaderPrefix):
			dl.Metadata.Set(k, v) // Reelay's own, bounded
		case len(k)+len(v) <= budget:
			dl.Metadata.Set(k, v)
			budget -= len(k) + len(v)
		default:
			dropped++
		}
	}
	dl.Metadata.Set(events.DLQTruncated, "true")
	dl.Metadata.Set(events.DLQOriginalSize, strconv.Itoa(len(value)))
	dl.Metadata.Set(events.DLQOriginalSHA256, hex.EncodeToString(sum[:]))
	if dropped > 0 {
		dl.Metadata.Set(events.DLQHeadersDropped, strconv.Itoa(dropped))
	}
	return dl
}

// partitionOf returns where a message came from, when the subscriber said.
func partitionOf(ctx context.Context) (topic string, partition int32, offset int64, ok bool) {
	rec, ok := kafka.RecordFromContext(ctx)
	return rec.Topic, rec.Partition, rec.Offset, ok
}
