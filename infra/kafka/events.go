package kafka

import (
	"context"
	"iter"
	"maps"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/tracing"
)

// TracerName is the instrumentation scope of the publish spans.
const TracerName = "github.com/reelay/reelay/infra/kafka"

// RecordSender writes one record and waits for the brokers' answer, as
// Publisher.Send does.
type RecordSender interface {
	Send(ctx context.Context, pm *sarama.ProducerMessage, timeout time.Duration) error
}

// Events publishes envelopes as records, each within a deadline.
type Events struct {
	out     RecordSender
	timeout time.Duration
	tracer  trace.Tracer
}

// NewEvents publishes through out; a publish waits at most timeout (0: no
// deadline). With a tracer, each publish is a producer span (nil: none).
func NewEvents(out RecordSender, timeout time.Duration, tracer trace.Tracer) *Events {
	return &Events{out: out, timeout: timeout, tracer: tracer}
}

// Publish writes e to topic in CloudEvents binary mode, keyed by e.Key. A nil
// error means Kafka acknowledged it with acks=all; on error the event may or
// may not be written, and a retry with the same e.ID is deduplicated by
// every consumer's inbox. It returns ErrPublishTimeout when the deadline
// passes first (or when too many records wait for the brokers), and ctx's
// error when ctx ends first.
//
// With a tracer, the span "publish <topic>" lasts until the brokers answer
// or the deadline passes. It is the child of ctx's span (the request's), or
// the root of a new trace; its context travels in the record as the
// CloudEvents distributed-tracing extension (ce_traceparent, and
// ce_tracestate when the trace has a state).
func (p *Events) Publish(ctx context.Context, topic string, e events.Envelope) error {
	if p.tracer == nil {
		return p.out.Send(ctx, envelopeRecord(topic, e, nil), p.timeout)
	}
	ctx, span := p.tracer.Start(ctx, "publish "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", topic),
			attribute.String("messaging.kafka.message.key", e.Key),
			attribute.String("cloudevents.event_id", e.ID),
			attribute.String("cloudevents.event_type", e.Type)))
	defer span.End()
	carrier := map[string]string{}
	tracing.Inject(ctx, carrier)
	err := p.out.Send(ctx, envelopeRecord(topic, e, maps.All(carrier)), p.timeout)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// envelopeRecord is the binary-mode record of e on topic, keyed by e.Key:
// e.Data is the value, e.Headers and extra (when not nil) the headers. A
// consumer reads back the envelope (events.Decode), and the message that
// Marshaler's Unmarshal makes of it is the message of any record with the
// same headers, key and value.
func envelopeRecord(topic string, e events.Envelope, extra iter.Seq2[string, string]) *sarama.ProducerMessage {
	headers := e.Headers()
	if extra != nil {
		headers = concat(headers, extra)
	}
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(e.Data), Headers: recordHeaders(headers)}
	if e.Key != "" {
		pm.Key = sarama.StringEncoder(e.Key)
	}
	return pm
}

// recordHeaders copies headers (iterated twice) into record headers whose
// bytes are slices of one buffer: one allocation per record instead of two
// per header.
func recordHeaders(headers iter.Seq2[string, string]) []sarama.RecordHeader {
	size, n := 0, 0
	for k, v := range headers {
		size += len(k) + len(v)
		n++
	}
	buf := make([]byte, 0, size)
	bytesOf := func(s string) []byte {
		buf = append(buf, s...)
		return buf[len(buf)-len(s) : len(buf) : len(buf)]
	}
	out := make([]sarama.RecordHeader, 0, n)
	for k, v := range headers {
		out = append(out, sarama.RecordHeader{Key: bytesOf(k), Value: bytesOf(v)})
	}
	return out
}

func concat(a, b iter.Seq2[string, string]) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for k, v := range a {
			if !yield(k, v) {
				return
			}
		}
		for k, v := range b {
			if !yield(k, v) {
				return
			}
		}
	}
}
