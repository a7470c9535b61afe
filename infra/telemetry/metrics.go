// Package telemetry holds Reelay's Prometheus metrics and its logger.
package telemetry

import (
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the process's Prometheus collectors, on their own registry.
type Metrics struct {
	Registry *prometheus.Registry
	// Events counts consumed events by group, handler and outcome: applied,
	// duplicate (the inbox had it), dead_lettered (the dead-letter topic has
	// it), dead_letter_failed (the dead-letter publish failed: the record is
	// redelivered and its partition waits), redelivered (the router closed
	// mid-way) and failed (any other error: the record is redelivered).
	Events *prometheus.CounterVec
	// Retries counts handler attempts that failed and were tried again, by
	// group and handler.
	Retries *prometheus.CounterVec
	// UnknownTypes counts acknowledged events whose ce_type no route handles,
	// by group: the type itself comes from outside and is only logged.
	UnknownTypes *prometheus.CounterVec
	// PartitionStuck is 1 for a stuck partition (by group, topic,
	// partition and reason), else 0. Reason dead_letter_failed: its record
	// can be neither applied nor dead-lettered (this instance holds it);
	// no_progress: it has lag and its group committed nothing for
	// REELAY_STUCK_AFTER (every instance reports it).
	PartitionStuck *prometheus.GaugeVec
	// ConsumerLag is a group's lag on a partition: end offset minus
	// committed offset (by group, topic, partition).
	ConsumerLag *prometheus.GaugeVec
	// DeadLetters counts a group's unresolved dead letters (pending or
	// being replayed).
	DeadLetters *prometheus.GaugeVec
	// PatternTopicsIgnored counts topics that match a pattern subscription
	// but exceed its cap, by group.
	PatternTopicsIgnored *prometheus.GaugeVec
	// HandlerSeconds times each event's handling, retries included.
	HandlerSeconds *prometheus.HistogramVec
	// BatchEvents counts the events of each batch a batch route
	// (events.OnBatch) applied in one transaction, by handler: under load
	// batches grow, and larger ones cost the database less per event.
	BatchEvents *prometheus.HistogramVec
	// Published counts published events by topic and outcome (ok, error).
	Published *prometheus.CounterVec
	// HTTPRequests counts requests by method, route and status code.
	HTTPRequests *prometheus.CounterVec
	// HTTPSeconds times requests by method and route.
	HTTPSeconds *prometheus.HistogramVec
}

// NewMetrics registers every collector, plus the Go and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelay_events_total", Help: "Consumed events by group, handler and outcome.",
		}, []string{"group", "handler", "outcome"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelay_retries_total", Help: "Handler attempts that failed and were tried again, by group and handler.",
		}, []string{"group", "handler"}),
		UnknownTypes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelay_unknown_event_types_total", Help: "Acknowledged events of a type no route handles.",
		}, []string{"group"}),
		PartitionStuck: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reelay_partition_stuck", Help: "1 while a partition is stuck: its record can be neither applied nor dead-lettered (dead_letter_failed), or it has lag and no progress (no_progress).",
		}, []string{"group", "topic", "partition", "reason"}),
		ConsumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reelay_consumer_lag", Help: "Records a consumer group has not committed yet on a partition.",
		}, []string{"group", "topic", "partition"}),
		DeadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reelay_dead_letters", Help: "Dead letters of a consumer group not yet replayed or discarded.",
		}, []string{"group"}),
		PatternTopicsIgnored: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reelay_pattern_topics_ignored", Help: "Topics matching a pattern subscription beyond its cap, not consumed.",
		}, []string{"group"}),
		HandlerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "reelay_handler_seconds", Help: "Duration of one handler attempt.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"handler"}),
		BatchEvents: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "reelay_batch_events", Help: "Events of each batch a batch route applied in one transaction.", Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}, []string{"handler"}),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelay_published_total", Help: "Published events by topic and outcome.",
		}, []string{"topic", "outcome"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelay_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "code"}),
		HTTPSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "reelay_http_request_seconds", Help: "HTTP request duration.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"method", "route"}),
	}
	r.MustRegister(m.Events, m.Retries, m.UnknownTypes, m.PartitionStuck, m.ConsumerLag, m.DeadLetters, m.PatternTopicsIgnored, m.HandlerSeconds, m.BatchEvents, m.Published, m.HTTPRequests, m.HTTPSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// NewLogger returns a JSON logger on stderr at level (debug, info, warn, error).
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	// A warning or error repeated (every partition during a broker outage)
	// is written once per 10 s, with the count of those dropped.
	return slog.New(LimitRepeats(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}), 10*time.Second))
}
