package router

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/infra/tracing"
)

// nopInbox applies everything: the benchmark measures the chain, not SQL.
type nopInbox struct{}

func (nopInbox) Apply(ctx context.Context, _, _ string, fn func(context.Context) error) (bool, error) {
	return true, fn(ctx)
}
func (nopInbox) Applied(context.Context, string, string) (bool, error) { return false, nil }
func (nopInbox) ApplyBatch(ctx context.Context, _ string, ids []string, fn func(context.Context, []int) error) ([]int, error) {
	fresh := make([]int, len(ids))
	for i := range fresh {
		fresh[i] = i
	}
	return fresh, fn(ctx, fresh)
}

// BenchmarkConsumeChain runs one movie.viewed record (with ce_traceparent,
// as Reelay's API writes it) through the router's whole middleware chain,
// as addHandler builds it, onto a typed route that does nothing, with an
// inbox that applies everything: the per-message cost of the chain alone.
//
//   - baseline: the chain without the tracing middleware (the code before
//     tracing);
//   - tracing=off: the chain as built with a no-op TracerProvider;
//   - tracing=on: an SDK provider with a batch span processor and an
//     exporter that discards.
func BenchmarkConsumeChain(b *testing.B) {
	for _, v := range []string{"baseline", "tracing=off", "tracing=on"} {
		b.Run(v, func(b *testing.B) {
			var tracer trace.Tracer
			if v == "tracing=on" {
				tp := tracing.NewProvider(tracetest.NewNoopExporter(), "bench")
				defer func() { _ = tp.Shutdown(context.Background()) }()
				tracer = tracing.Tracer(tp, tracerName)
			}
			h := benchChain(tracer, v != "baseline")
			md := message.Metadata{events.HeaderSpecVersion: "1.0", events.HeaderID: "e", events.HeaderType: events.TypeMovieViewed,
				events.HeaderSource: "bench", events.HeaderContentType: events.ContentTypeJSON,
				tracing.HeaderTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
			payload := []byte(`{"movieId":"heat","userId":"u1","watchedSeconds":5}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				msg := message.NewMessage(fmt.Sprint(i), payload)
				msg.Metadata = make(message.Metadata, len(md)+8)
				for k, val := range md {
					msg.Metadata[k] = val
				}
				if _, err := h(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchChain is addHandler's chain around the dispatcher of a consumer with
// one typed route; traced adds the tracing middleware and inbox decorator
// (which are the handler and inbox themselves when tracer is nil).
func benchChain(tracer trace.Tracer, traced bool) message.HandlerFunc {
	logger := slog.New(slog.DiscardHandler)
	metrics := telemetry.NewMetrics()
	c := events.Consumer{Name: "movie", Group: "movie-group", Topics: []string{events.TopicMovieViews},
		Routes: []events.Route{events.On(events.TypeMovieViewed, func(context.Context, events.Envelope, events.MovieViewed) error { return nil })}}
	name := HandlerName(c, events.TopicMovieViews)
	var ib Inbox = nopInbox{}
	if traced {
		ib = traceInbox(ib, tracer)
	}
	dlq := &deadLetter{pub: nil, topic: "movie-group.dlq", stuck: newStuckPartitions(metrics.PartitionStuck, logger), group: c.Group, logger: logger}
	mws := []message.HandlerMiddleware{correlation(logger, c.Group, name)}
	if traced {
		mws = append(mws, consumeSpan(tracer, c.Group, name, dlq.topic))
	}
	mws = append(mws, outcome(metrics, c.Group, name), dlq.middleware, failureRecord(c.Group, name),
		retry(5, 100*time.Millisecond), attemptRecord(time.Now, 5, logger))
	if traced {
		mws = append(mws, attemptEvents(tracer, 5))
	}
	mws = append(mws, middleware.Recoverer, newBatcher(c, ib, time.Minute, logger, metrics.BatchEvents.WithLabelValues(name)).middleware, inbox(ib, c.Group, time.Minute, false))
	d := &dispatcher{consumer: c, metrics: metrics, logger: logger}
	h := message.HandlerFunc(func(msg *message.Message) ([]*message.Message, error) { return nil, d.handle(msg) })
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
