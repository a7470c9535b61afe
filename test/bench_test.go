package test_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/google/uuid"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// The benchmarks report Reelay against a baseline measured in the same
// process on the same broker, as a ratio (x_baseline): absolute numbers on a
// 2-core machine say little, the ratio says what Reelay's layers cost.

// BenchmarkPublishHTTP: POST /movies/{id}/views → 202 (JSON decode,
// validation, envelope, idempotent acks=all produce) against the baseline of
// the same produce with a bare Sarama SyncProducer of the same settings.
func BenchmarkPublishHTTP(b *testing.B) {
	t := &testing.T{}
	in := start(t, testConfig(t))
	defer in.stop()
	body := []byte(`{"userId":"u1","watchedSeconds":5}`)
	client := &http.Client{}

	base := baselinePublish(b, in.brokers, b.N)

	b.ResetTimer()
	startAt := time.Now()
	for i := range b.N {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/movies/m%d/views", in.base, i%64), bytesReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("%v %v", err, resp)
		}
		_ = resp.Body.Close()
	}
	reelay := time.Since(startAt)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/reelay.Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/base.Seconds(), "baseline_events/s")
	b.ReportMetric(reelay.Seconds()/base.Seconds(), "x_baseline")
}

func baselinePublish(b *testing.B, brokers []string, n int) time.Duration {
	cfg := saramaConfig()
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	admin, err := kafka.NewAdmin(brokers, 6, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	if err := admin.EnsureTopics("bench-baseline"); err != nil {
		b.Fatal(err)
	}
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	value := []byte(`{"movieId":"m1","userId":"u1","watchedSeconds":5}`)
	startAt := time.Now()
	for i := range n {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "bench-baseline", Key: sarama.StringEncoder(fmt.Sprint("m", i%64)),
			Value: sarama.ByteEncoder(value)}); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(startAt)
}

// BenchmarkConsumeEndToEnd: N movie.viewed records produced straight to
// movie-views, until both the movie and the analytics read models count all
// N (decode, routing, middleware, inbox and read-model transaction, SQLite)
// against the baseline of a bare subscriber of the same Sarama settings that
// acks each record and does nothing else.
//
// REELAY_BENCH_PARTITIONS sets the partitions of the topics (default 6): a
// partition's events are applied one after another, so partitions bound the
// parallelism of each group.
func BenchmarkConsumeEndToEnd(b *testing.B) {
	t := &testing.T{}
	cfg := testConfig(t)
	if p, err := strconv.Atoi(os.Getenv("REELAY_BENCH_PARTITIONS")); err == nil {
		cfg.TopicPartitions = int32(p)
	}
	in := start(t, cfg)
	defer in.stop()
	base := baselineConsume(b, in, b.N)

	movies := make([]string, 32)
	for i := range movies {
		movies[i] = uid("bench")
	}
	b.ResetTimer()
	startAt := time.Now()
	produceViews(b, in.brokers, movies, b.N)
	deadline := time.Now().Add(5 * time.Minute)
	for total(in, "/api/v1/movies?limit=100") < b.N || total(in, "/api/v1/analytics/top?metric=views&limit=100") < b.N {
		if time.Now().After(deadline) {
			b.Fatal("not consumed within 5 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	reelay := time.Since(startAt)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/reelay.Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/base.Seconds(), "baseline_events/s")
	b.ReportMetric(reelay.Seconds()/base.Seconds(), "x_baseline")
	// Mean time inside the middleware chain per event (both groups), to
	// tell handler cost from pipeline latency.
	sum := metricValue(in.t, in, `reelay_handler_seconds_sum{handler="movie:movie-views"}`) +
		metricValue(in.t, in, `reelay_handler_seconds_sum{handler="analytics:movie-views"}`)
	count := metricValue(in.t, in, `reelay_handler_seconds_count{handler="movie:movie-views"}`) +
		metricValue(in.t, in, `reelay_handler_seconds_count{handler="analytics:movie-views"}`)
	if count > 0 {
		b.ReportMetric(sum/count*1000, "handler_ms")
	}
}

func produceViews(b *testing.B, brokers []string, movies []string, n int) {
	p, err := sarama.NewSyncProducer(brokers, saramaConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	batch := make([]*sarama.ProducerMessage, 0, 500)
	flush := func() {
		if err := p.SendMessages(batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		m := movies[i%len(movies)]
		msg := &sarama.ProducerMessage{Topic: events.TopicMovieViews, Key: sarama.StringEncoder(m),
			Value: sarama.ByteEncoder(mustJSON(map[string]any{"movieId": m, "userId": fmt.Sprint("u", i%100), "watchedSeconds": 1}))}
		for k, v := range binary(uuid.NewString(), events.TypeMovieViewed) {
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		}
		batch = append(batch, msg)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

// total sums the views of a list answer (the benchmark's database holds only its own movies).
func total(in *instance, path string) int {
	v, err := in.getJSON(path)
	if err != nil {
		return 0
	}
	sum := 0
	for _, item := range v.([]any) {
		sum += int(item.(map[string]any)["views"].(float64))
	}
	return sum
}

// baselineConsume produces n records to a fresh topic and times a bare
// subscriber in its own group reading and acking all of them.
func baselineConsume(b *testing.B, in *instance, n int) time.Duration {
	topic := uid("bench-consume")
	admin, err := kafka.NewAdmin(in.brokers, 6, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	if err := admin.EnsureTopics(topic); err != nil {
		b.Fatal(err)
	}
	// The baseline: watermill-kafka's own subscriber, acking at once.
	sc := wmkafka.DefaultSaramaSubscriberConfig()
	sc.Version = sarama.V3_6_0_0
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sub, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{Brokers: in.brokers, Unmarshaler: kafka.Marshaler{},
		OverwriteSaramaConfig: sc, ConsumerGroup: uid("bench-group")}, watermill.NopLogger{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Close() }()
	startAt := time.Now()
	p, err := sarama.NewSyncProducer(in.brokers, saramaConfig())
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]*sarama.ProducerMessage, 0, n)
	for i := range n {
		batch = append(batch, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprint("m", i%32)),
			Value: sarama.ByteEncoder(`{"movieId":"m","userId":"u","watchedSeconds":1}`)})
	}
	if err := p.SendMessages(batch); err != nil {
		b.Fatal(err)
	}
	_ = p.Close()
	msgs, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		select {
		case m := <-msgs:
			m.Ack()
		case <-time.After(2 * time.Minute):
			b.Fatal("baseline stalled")
		}
	}
	return time.Since(startAt)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
