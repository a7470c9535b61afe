package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/reelay/reelay/events"
)

// ingest serves the view route until ctx ends, then closes the producer.
func ingest(ctx context.Context, addr string, brokers []string) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewMurmur2Partitioner
	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = producer.Close() }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /api/v1/movies/{id}/views", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID         string `json:"userId"`
			WatchedSeconds *int64 `json:"watchedSeconds"`
		}
		movieID := r.PathValue("id")
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.UserID == "" ||
			(req.WatchedSeconds != nil && *req.WatchedSeconds < 0) {
			http.Error(w, `{"error":"invalid view"}`, http.StatusBadRequest)
			return
		}
		value, err := json.Marshal(events.MovieViewed{MovieID: movieID, UserID: req.UserID, WatchedSeconds: req.WatchedSeconds})
		if err != nil {
			http.Error(w, `{"error":"encoding"}`, http.StatusInternalServerError)
			return
		}
		id := events.NewID() // as Reelay's: the drain's inbox keys sort by time
		msg := &sarama.ProducerMessage{Topic: events.TopicMovieViews, Key: sarama.StringEncoder(movieID), Value: sarama.ByteEncoder(value)}
		for _, h := range [][2]string{
			{events.HeaderSpecVersion, events.SpecVersion}, {events.HeaderID, id}, {events.HeaderType, events.TypeMovieViewed},
			{events.HeaderSource, "baseline/api"}, {events.HeaderTime, time.Now().UTC().Format(time.RFC3339Nano)},
			{events.HeaderContentType, events.ContentTypeJSON}, {events.HeaderCorrelationID, uuid.NewString()},
		} {
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(h[0]), Value: []byte(h[1])})
		}
		if _, _, err := producer.SendMessage(msg); err != nil {
			w.Header().Set("Retry-After", "5")
			http.Error(w, `{"error":"broker unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"eventId":"` + id + `"}`))
	})
	return serve(ctx, addr, mux)
}
