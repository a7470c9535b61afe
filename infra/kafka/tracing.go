package kafka

import (
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/tracing"
)

// TracerName is the instrumentation scope of the publish spans.
const TracerName = "github.com/reelay/reelay/infra/kafka"

// TracePublishes returns pub with a producer span "publish <topic>" around
// each message's publish, until the broker acknowledged it or refused it.
// The span is the child of the span in the message's context (Events.Publish
// sets the request's), or the root of a new trace; its context goes into the
// message's metadata as the CloudEvents distributed-tracing extension
// (ce_traceparent, and ce_tracestate when the trace has a state), which the
// marshaler writes as record headers. With a nil tracer (tracing off) it
// returns pub itself.
func TracePublishes(pub message.Publisher, tracer trace.Tracer) message.Publisher {
	if tracer == nil {
		return pub
	}
	return tracedPublisher{Publisher: pub, tracer: tracer}
}

type tracedPublisher struct {
	message.Publisher
	tracer trace.Tracer
}

func (p tracedPublisher) Publish(topic string, msgs ...*message.Message) error {
	spans := make([]trace.Span, len(msgs))
	for i, msg := range msgs {
		ctx, span := p.tracer.Start(msg.Context(), "publish "+topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				attribute.String("messaging.system", "kafka"),
				attribute.String("messaging.operation.type", "send"),
				attribute.String("messaging.destination.name", topic),
				attribute.String("messaging.kafka.message.key", msg.Metadata.Get(MetadataKey)),
				attribute.String("cloudevents.event_id", msg.Metadata.Get(events.HeaderID)),
				attribute.String("cloudevents.event_type", msg.Metadata.Get(events.HeaderType))))
		tracing.Inject(ctx, msg.Metadata)
		spans[i] = span
	}
	err := p.Publisher.Publish(topic, msgs...)
	for _, span := range spans {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	return err
}
