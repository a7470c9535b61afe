package test_test

import (
	"context"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/tracing"
)

// BenchmarkTracing measures what tracing costs on the real components
// (embedded broker over TCP, SQLite), both variants in one process:
// tracing=off is the app as configured without OTEL_* variables (a no-op
// TracerProvider); tracing=on replaces it with an SDK provider with a batch
// span processor and an exporter that discards every span.
//
//   - ingest: POST /api/v1/movies/{id}/views → 202, one request at a time
//     (server span, publish span, ce_traceparent);
//   - consume: N movie.viewed records carrying ce_traceparent produced
//     straight to movie-views, until both read models count them all (a
//     consume span and an inbox-transaction span per group).
//
// Besides events/s it reports cpu_us/event: the CPU time of the whole
// process (server, consumers, embedded broker, SQLite and the load
// generator alike) per event, steadier than wall time on shared cores.
//
// Run with a fixed count, e.g. -benchtime 2000x: each sub-benchmark starts
// its own instance.
func BenchmarkTracing(b *testing.B) {
	for _, workload := range []string{"ingest", "consume"} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/tracing=%s", workload, map[bool]string{false: "off", true: "on"}[on]), func(b *testing.B) {
				t := &testing.T{}
				var opts []fx.Option
				if on {
					tp := tracing.NewProvider(tracetest.NewNoopExporter(), "bench")
					defer func() { _ = tp.Shutdown(context.Background()) }()
					opts = append(opts, fx.Decorate(func(trace.TracerProvider) trace.TracerProvider { return tp }))
				}
				in := start(t, testConfig(t), opts...)
				defer in.stop()
				if workload == "ingest" {
					benchIngest(b, in)
				} else {
					benchConsume(b, in)
				}
			})
		}
	}
}

func benchIngest(b *testing.B, in *instance) {
	body := []byte(`{"userId":"u1","watchedSeconds":5}`)
	client := &http.Client{}
	b.ResetTimer()
	startAt, cpuAt := time.Now(), cpuTime(b)
	for i := range b.N {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/movies/m%d/views", in.base, i%64), bytesReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("%v %v", err, resp)
		}
		_ = resp.Body.Close()
	}
	report(b, startAt, cpuAt)
}

func benchConsume(b *testing.B, in *instance) {
	movies := make([]string, 32)
	for i := range movies {
		movies[i] = uid("bench")
	}
	p, err := sarama.NewSyncProducer(in.brokers, saramaConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	b.ResetTimer()
	startAt, cpuAt := time.Now(), cpuTime(b)
	batch := make([]*sarama.ProducerMessage, 0, b.N)
	for i := range b.N {
		m := movies[i%len(movies)]
		msg := &sarama.ProducerMessage{Topic: events.TopicMovieViews, Key: sarama.StringEncoder(m),
			Value: sarama.ByteEncoder(mustJSON(map[string]any{"movieId": m, "userId": fmt.Sprint("u", i%100), "watchedSeconds": 1}))}
		headers := binary(uuid.NewString(), events.TypeMovieViewed)
		headers[tracing.HeaderTraceParent] = parent
		for k, v := range headers {
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		}
		batch = append(batch, msg)
	}
	if err := p.SendMessages(batch); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for total(in, "/api/v1/movies?limit=100") < b.N || total(in, "/api/v1/analytics/top?metric=views&limit=100") < b.N {
		if time.Now().After(deadline) {
			b.Fatal("not consumed within 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	report(b, startAt, cpuAt)
}

// report adds events/s and the process's CPU time per event since the given
// wall and CPU times.
func report(b *testing.B, startAt time.Time, cpuAt time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(startAt).Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime(b)-cpuAt).Microseconds())/float64(b.N), "cpu_us/event")
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
