package router

import (
	"context"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/tracing"
)

// tracerName is the instrumentation scope of the router's spans.
const tracerName = "github.com/reelay/reelay/infra/router"

// Span and event names of the router.
const (
	spanInbox          = "inbox transaction"
	eventAttemptFailed = "attempt failed"
	eventDeadLettered  = "dead-lettered"
)

// consumeSpan runs each message of a group in a consumer span "process
// <topic>": the child of the span context the record carries (the
// CloudEvents extension ce_traceparent, else a plain traceparent), or the
// root of a new trace when it carries none. Every group's span of one record
// is thus a sibling in the producer's trace. It runs inside correlation,
// whose logger then also writes trace_id and span_id, and outside the rest,
// so that the span holds the retries (events of attemptEvents), the
// dead-lettering (an event "dead-lettered" with the dead-letter topic and
// the reason) and the inbox transaction (a child span, see traceInbox). The
// span's reelay.outcome is the outcome the metrics count; its status is an
// error unless the event was applied or was a duplicate.
//
// With a nil tracer (tracing off) it returns the handler itself: no span, no
// header read, no allocation.
func consumeSpan(tracer trace.Tracer, group, handler, deadLetterTopic string) message.HandlerMiddleware {
	if tracer == nil {
		return func(h message.HandlerFunc) message.HandlerFunc { return h }
	}
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := msg.Context()
			topic := message.SubscribeTopicFromCtx(ctx)
			attrs := []attribute.KeyValue{
				attribute.String("messaging.system", "kafka"),
				attribute.String("messaging.operation.type", "process"),
				attribute.String("messaging.consumer.group.name", group),
				attribute.String("reelay.handler", handler),
				attribute.String("cloudevents.event_id", msg.Metadata.Get(events.HeaderID)),
				attribute.String("cloudevents.event_source", msg.Metadata.Get(events.HeaderSource)),
				attribute.String("cloudevents.event_type", msg.Metadata.Get(events.HeaderType)),
				attribute.String("reelay.dedup_id", msg.UUID),
			}
			if rec, ok := kafka.RecordFromContext(ctx); ok {
				topic = rec.Topic
				attrs = append(attrs, attribute.String("messaging.destination.partition.id", strconv.Itoa(int(rec.Partition))),
					attribute.Int64("messaging.kafka.offset", rec.Offset))
			}
			name := "process"
			if topic != "" {
				attrs = append(attrs, attribute.String("messaging.destination.name", topic))
				name += " " + topic
			}
			ctx, span := tracer.Start(tracing.Extract(ctx, msg.Metadata), name,
				trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
			defer span.End()
			msg.SetContext(withLogAttrs(ctx, tracing.LogAttrs(ctx)...))

			out, err := h(msg)
			result := outcomeOf(msg, err)
			span.SetAttributes(attribute.String("reelay.outcome", result))
			switch {
			case err != nil:
				span.SetStatus(codes.Error, cut(err.Error(), 512))
			case result == "dead_lettered":
				span.AddEvent(eventDeadLettered, trace.WithAttributes(
					attribute.String("reelay.dlq.topic", deadLetterTopic),
					attribute.String("reelay.dlq.reason", cut(msg.Metadata.Get(events.DLQError), 512)),
					attribute.String("reelay.dlq.attempts", msg.Metadata.Get(events.DLQAttempts))))
				span.SetStatus(codes.Error, "dead-lettered")
			}
			return out, err
		}
	}
}

// attemptEvents adds an event "attempt failed" to the message's span for
// each failed attempt, with its number, its error and whether it is retried
// (the retry policy's rule: fewer than maxRetries retries so far and not a
// permanent error). It runs inside the retry, after attemptRecord has
// counted the attempt. With a nil tracer it returns the handler itself.
func attemptEvents(tracer trace.Tracer, maxRetries int) message.HandlerMiddleware {
	if tracer == nil {
		return func(h message.HandlerFunc) message.HandlerFunc { return h }
	}
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := msg.Context()
			out, err := h(msg)
			if err != nil {
				n := attemptsOf(msg)
				retried := n <= maxRetries && !events.IsPermanent(err) && ctx.Err() == nil
				trace.SpanFromContext(ctx).AddEvent(eventAttemptFailed, trace.WithAttributes(
					attribute.Int("reelay.attempt", n), attribute.Bool("reelay.retried", retried),
					attribute.String("exception.message", cut(err.Error(), 512))))
			}
			return out, err
		}
	}
}

// traceInbox returns ib with a span "inbox transaction" around each Apply
// and ApplyBatch: the transaction that records the event in the group's
// inbox and commits the handler's writes with it (the handler runs inside
// it). A batch's span is the child of the span of the event that leads it.
// With a nil tracer it returns ib itself.
func traceInbox(ib Inbox, tracer trace.Tracer) Inbox {
	if tracer == nil {
		return ib
	}
	return tracedInbox{Inbox: ib, tracer: tracer}
}

type tracedInbox struct {
	Inbox
	tracer trace.Tracer
}

func (t tracedInbox) Apply(ctx context.Context, group, eventID string, fn func(ctx context.Context) error) (bool, error) {
	ctx, span := t.start(ctx, group, 1)
	defer span.End()
	applied, err := t.Inbox.Apply(ctx, group, eventID, fn)
	end(span, err, attribute.Bool("reelay.inbox.applied", applied))
	return applied, err
}

func (t tracedInbox) ApplyBatch(ctx context.Context, group string, eventIDs []string,
	fn func(ctx context.Context, fresh []int) error) ([]int, error) {
	ctx, span := t.start(ctx, group, len(eventIDs))
	defer span.End()
	fresh, err := t.Inbox.ApplyBatch(ctx, group, eventIDs, fn)
	end(span, err, attribute.Int("reelay.inbox.applied", len(fresh)))
	return fresh, err
}

func (t tracedInbox) start(ctx context.Context, group string, events int) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, spanInbox, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.operation.name", "transaction"),
		attribute.String("messaging.consumer.group.name", group),
		attribute.Int("reelay.inbox.events", events)))
}

func end(span trace.Span, err error, outcome attribute.KeyValue) {
	span.SetAttributes(outcome)
	if err != nil {
		span.SetStatus(codes.Error, cut(err.Error(), 512))
	}
}
