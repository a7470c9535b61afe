package kafka

import (
	"context"
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
	err := p.out.Send(ctx, envelopeRecord(topic, e, carrier), p.timeout)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// envelopeRecord is the binary-mode record of e on topic, keyed by e.Key:
// e.Data is the value, e's headers and extra the headers. A consumer reads
// back the envelope (events.Decode), and it is the record the marshaler
// makes of the Watermill message with the same headers and key.
func envelopeRecord(topic string, e events.Envelope, extra map[string]string) *sarama.ProducerMessage {
	var stack [10]events.Header
	headers := e.AppendHeaders(stack[:0])
	for k, v := range extra {
		headers = append(headers, events.Header{Key: k, Value: v})
	}
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(e.Data), Headers: recordHeaders(headers)}
	if e.Key != "" {
		pm.Key = sarama.StringEncoder(e.Key)
	}
	return pm
}

// recordHeaders copies headers into record headers whose bytes are slices
// of one buffer: two allocations per record instead of two per header.
func recordHeaders(headers []events.Header) []sarama.RecordHeader {
	size := 0
	for _, h := range headers {
		size += len(h.Key) + len(h.Value)
	}
	buf := make([]byte, 0, size)
	out := make([]sarama.RecordHeader, len(headers))
	for i, h := range headers {
		at := len(buf)
		buf = append(buf, h.Key...)
		out[i].Key = buf[at:len(buf):len(buf)]
		at = len(buf)
		buf = append(buf, h.Value...)
		out[i].Value = buf[at:len(buf):len(buf)]
	}
	return out
}
