package router

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reelay/reelay/events"
)

// refusing is a publisher whose every publish fails, as a broker that
// refuses the dead-letter topic does.
type refusing struct{ calls int }

func (r *refusing) Publish(string, ...*message.Message) error {
	r.calls++
	return errors.New("kafka server: Message was too large, server rejected it")
}
func (r *refusing) Close() error { return nil }

func newTestDeadLetter(pub message.Publisher) *deadLetter {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stuck"}, []string{"group", "topic", "partition"})
	return &deadLetter{pub: pub, topic: "g.dlq", stuck: newStuckPartitions(gauge, logger), group: "g", logger: logger, backoff: 1}
}

func failing(err error) message.HandlerFunc {
	return func(*message.Message) ([]*message.Message, error) { return nil, err }
}

func TestDeadLetterAcksAfterPublishing(t *testing.T) {
	t.Parallel()
	pubsub := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	defer func() { _ = pubsub.Close() }()
	d := newTestDeadLetter(pubsub)
	msg := message.NewMessage("id", []byte(`{"x":1}`))
	msg.Metadata.Set("ce_type", "t")
	if _, err := d.middleware(failing(events.Malformed("bad")))(msg); err != nil {
		t.Fatalf("err = %v, want the message acked", err)
	}
	if !isDeadLettered(msg.Context()) {
		t.Fatal("message not marked dead-lettered")
	}
	got, err := pubsub.Subscribe(context.Background(), "g.dlq")
	if err != nil {
		t.Fatal(err)
	}
	dl := <-got
	if string(dl.Payload) != `{"x":1}` || dl.Metadata.Get("ce_type") != "t" || dl.Metadata.Get(events.DLQTruncated) != "" {
		t.Fatalf("dead letter %s %v", dl.Payload, dl.Metadata)
	}
}

func TestDeadLetterPublishFailureNacksAndCountsAsFailed(t *testing.T) {
	t.Parallel()
	pub := &refusing{}
	d := newTestDeadLetter(pub)
	msg := message.NewMessage("id", []byte(`{}`))
	_, err := d.middleware(failing(events.Malformed("bad")))(msg)
	if !errors.Is(err, errDeadLetterFailed) || isDeadLettered(msg.Context()) {
		t.Fatalf("err = %v, want errDeadLetterFailed and no dead-letter mark", err)
	}
	if pub.calls != 2 {
		t.Fatalf("%d publishes, want the whole copy then the truncated one", pub.calls)
	}
}

func TestDeadLetterLeavesShutdownAndSuccessAlone(t *testing.T) {
	t.Parallel()
	pub := &refusing{}
	d := newTestDeadLetter(pub)
	if _, err := d.middleware(failing(errShuttingDown))(message.NewMessage("a", nil)); !errors.Is(err, errShuttingDown) {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := d.middleware(failing(nil))(message.NewMessage("b", nil)); err != nil {
		t.Fatalf("success: %v", err)
	}
	if pub.calls != 0 {
		t.Fatalf("%d publishes, want none", pub.calls)
	}
}

func TestTruncatedCopyFitsAndSaysSo(t *testing.T) {
	t.Parallel()
	value := bytes.Repeat([]byte("v"), 3<<20)
	msg := message.NewMessage("id", value)
	msg.Metadata.Set("dlq_error", "boom")
	msg.Metadata.Set("dlq_key", strings.Repeat("k", 1<<20))
	for i := range 100 {
		msg.Metadata.Set("h"+strconv.Itoa(i), strings.Repeat("h", 1000))
	}
	dl, truncated := deadLetterCopy(msg, deadLetterMaxBytes)
	if !truncated {
		t.Fatal("a 3 MiB record was not truncated")
	}
	size := len(dl.Payload)
	for k, v := range dl.Metadata {
		size += len(k) + len(v)
	}
	if size > 100<<10 {
		t.Fatalf("truncated copy is %d bytes", size)
	}
	md := dl.Metadata
	if md.Get(events.DLQTruncated) != "true" || md.Get(events.DLQOriginalSize) != strconv.Itoa(3<<20) ||
		len(md.Get(events.DLQOriginalSHA256)) != 64 || md.Get("dlq_error") != "boom" || md.Get(events.DLQHeadersDropped) == "" {
		t.Fatalf("metadata %v", md)
	}
	if !bytes.HasPrefix(value, dl.Payload) || len(dl.Payload) != truncatedValueBytes {
		t.Fatalf("payload of %d bytes", len(dl.Payload))
	}
	small := message.NewMessage("id", []byte("{}"))
	if _, truncated := deadLetterCopy(small, deadLetterMaxBytes); truncated {
		t.Fatal("a small record was truncated")
	}
}
