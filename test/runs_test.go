package test_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/reelay/reelay/events"
)

// rawRecord is a record to produce as it is.
type rawRecord struct {
	value   []byte
	headers map[string]string
}

// produceTogether writes records of one key in one produce request, so
// they land in one batch of one partition and the consumer fetches them
// together: the KeyedSubscriber hands them out as runs.
func (in *instance) produceTogether(topic, key string, recs ...rawRecord) {
	in.t.Helper()
	p, err := sarama.NewSyncProducer(in.brokers, saramaConfig())
	if err != nil {
		in.t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(r.value)}
		for k, v := range r.headers {
			msgs[i].Headers = append(msgs[i].Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		}
	}
	if err := p.SendMessages(msgs); err != nil {
		in.t.Fatal(err)
	}
}

// TestRecordsThatArriveTogether: records fetched together keep every
// guarantee of records that come one by one. Views applied as one batch
// count once each, a redelivered event among them once in all, and a
// malformed one among them is dead-lettered while the rest apply; updates
// of one movie, which a batch route does not take, apply in order.
func TestRecordsThatArriveTogether(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("together")

	views := make([]rawRecord, 0, 43)
	for i := range 40 {
		views = append(views, rawRecord{mustJSON(map[string]any{"movieId": movieID, "userId": fmt.Sprint("u", i%7), "watchedSeconds": 2}),
			binary(uuid.NewString(), events.TypeMovieViewed)})
	}
	views = append(views, views[3]) // the same event again
	in.produceTogether(events.TopicMovieViews, movieID, views...)
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 40}))
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 40, "uniqueViewers": 7, "watchedSeconds": 80}))
	// They came as runs, each joining a batch whole: one batch held more
	// than 32 events. (One by one, a key's next record goes only once the
	// one before has joined a batch, and batches stay small.)
	if all, small := metricValue(t, in, `reelay_batch_events_count{handler="movie:movie-views"}`),
		metricValue(t, in, `reelay_batch_events_bucket{handler="movie:movie-views",le="32"}`); small == all {
		t.Fatalf("all %v batches held at most 32 events: the records were not applied as runs", all)
	}

	poisoned := []rawRecord{views[0], views[1]} // applied before: duplicates
	for i := range 10 {
		poisoned = append(poisoned, rawRecord{mustJSON(map[string]any{"movieId": movieID, "userId": "v", "watchedSeconds": 1}),
			binary(uuid.NewString(), events.TypeMovieViewed)})
		if i == 4 {
			poisoned = append(poisoned, rawRecord{[]byte("{not json"), binary(uuid.NewString(), events.TypeMovieViewed)})
		}
	}
	in.produceTogether(events.TopicMovieViews, movieID, poisoned...)
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 50}))
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 50, "uniqueViewers": 8, "watchedSeconds": 90}))
	for _, group := range []string{events.GroupMovie, events.GroupAnalytics} {
		eventually(t, wait, func() error {
			if n := len(in.readTopic(events.DeadLetterTopic(group), movieID)); n != 1 {
				return fmt.Errorf("%s: %d dead letters, want 1", group, n)
			}
			return nil
		})
	}
	for _, c := range []struct {
		outcome string
		want    float64
	}{{"applied", 50}, {"duplicate", 3}, {"dead_lettered", 1}} {
		series := fmt.Sprintf(`reelay_events_total{group="movie-group",handler="movie:movie-views",outcome=%q}`, c.outcome)
		if n := metricValue(t, in, series); n != c.want {
			t.Errorf("%s: %v, want %v", series, n, c.want)
		}
	}

	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movieID, "title": "v0", "year": 1900})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "v0"}))
	updates := make([]rawRecord, 0, 40)
	for i := 1; i <= 40; i++ {
		updates = append(updates, rawRecord{mustJSON(map[string]any{"movieId": movieID, "title": fmt.Sprint("v", i), "year": 1900 + i}),
			binary(uuid.NewString(), events.TypeMovieUpdated)})
	}
	in.produceTogether(events.TopicMovieEvents, movieID, updates...)
	in.mustAccept(http.MethodPut, "/api/v1/movies/"+movieID, map[string]any{"title": "last"})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "last", "year": 1940}))
}
