// Command bench measures Reelay's throughput as a process, against a
// hand-written baseline measured in the same run on the same broker and
// database, and prints one markdown table (also written to -out).
//
//	go tool task bench                        # the default matrix, default sizes
//	go tool task bench -- -matrix all -duration 30s -events 200000
//	go run ./test/bench -matrix embedded+sqlite -workloads drain -profile /tmp/prof
//
// # Contenders
//
// Both run as child processes built by the harness, so that their CPU time
// (utime+stime from /proc/PID/stat) and peak RSS (VmHWM) are theirs alone:
//
//   - reelay: the binary of app/cmd/reelay, configured by REELAY_* variables
//     only. The harness depends on nothing inside it but its HTTP API and the
//     tables of its read models.
//   - baseline: test/bench/baseline, the same work written by hand: a net/http
//     handler with one Sarama SyncProducer (idempotent, acks=all,
//     MaxOpenRequests=1, key = movie id, CloudEvents binary headers) for
//     ingest, and franz-go consumer groups that apply each poll's batch in one
//     transaction with the same inbox rule for drains.
//
// # Workloads (6 partitions; POST /api/v1/movies/{id}/views, movie-views)
//
//   - ingest: -connections HTTP connections as fast as they go for -duration,
//     driven by vegeta (github.com/tsenart/vegeta); the service runs no
//     consumer group. events/s = 202 answers per second; p50/p99 of all
//     requests; CPU of the service process over the run per accepted event.
//   - drain: -events views preloaded onto movie-views with a fast franz-go
//     producer, then the service starts with movie-group only, and in a
//     second row with movie-group and analytics-group. events/s = events
//     applied from the first applied one until the read models count all of
//     them, polled in the database (movies.views, movie_stats.views); CPU per
//     event over the same window.
//   - keeps up: a constant -rate for -duration with both groups consuming in
//     the same process (the baseline: its ingest and drain processes side by
//     side). lag = from the last 202 until the read models hold every accepted
//     event; events/s = accepted events from the first request until then.
//
// The last column is Reelay's events/s divided by the baseline's in the same
// cell: below 1 is slower.
//
// # Brokers and databases (-matrix)
//
//   - embedded: the embedded Kafka-protocol broker of infra/kafka, started in
//     this process; both contenders connect to it through REELAY_KAFKA_BROKERS
//     (so its CPU is counted for neither).
//   - kafka: Apache Kafka, one node started by test/scripts/kafka.sh up-single
//     in -kafka-dir and stopped at the end whatever happens.
//   - sqlite: a new file per run.
//   - postgres: a private server started by test/scripts/postgres.sh up in
//     -pg-dir (stopped at the end), a new schema per run.
//
// Before each run every topic and consumer group of the broker is deleted
// (the broker is the harness's own) and movie-views is created again.
//
// -profile DIR records a CPU profile of Reelay through REELAY_PPROF_ADDR
// during its ingest and each of its drains and prints the top of `go tool
// pprof -top`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	cfg := defaultConfig()
	flag.StringVar(&cfg.Matrix, "matrix", cfg.Matrix, "cells to run, comma-separated BROKER+DATABASE (embedded|kafka + sqlite|postgres), or all")
	flag.StringVar(&cfg.Workloads, "workloads", cfg.Workloads, "workloads to run, comma-separated: ingest, drain, keepsup")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of ingest and keeps-up load")
	flag.IntVar(&cfg.Connections, "connections", cfg.Connections, "HTTP connections of the ingest load")
	flag.IntVar(&cfg.Events, "events", cfg.Events, "views preloaded for each drain")
	flag.IntVar(&cfg.Rate, "rate", cfg.Rate, "keeps-up requests per second; 0: Reelay's ingest events/s in the same cell, its peak (500 without ingest)")
	flag.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of movie-views")
	flag.IntVar(&cfg.Movies, "movies", cfg.Movies, "distinct movie ids (keys) of the load")
	flag.StringVar(&cfg.Out, "out", cfg.Out, "file the table is written to")
	flag.StringVar(&cfg.ProfileDir, "profile", "", "directory for CPU profiles of Reelay during ingest and drains (off when empty)")
	flag.DurationVar(&cfg.ProfileTime, "profile-time", cfg.ProfileTime, "length of each CPU profile")
	flag.StringVar(&cfg.KafkaDir, "kafka-dir", cfg.KafkaDir, "directory of the Apache Kafka node (kafka.sh up-single)")
	flag.StringVar(&cfg.PostgresDir, "pg-dir", cfg.PostgresDir, "directory of the PostgreSQL server (postgres.sh up)")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "longest wait for a drain or a catch-up before the row fails")
	flag.DurationVar(&cfg.WarmUp, "warmup", cfg.WarmUp, "unmeasured load on Apache Kafka after it starts, so that its JIT has compiled the hot paths before the first contender runs (0: none)")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the work directory (binaries, logs, SQLite files)")
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds of each workload per contender; the table shows the median")
	flag.Parse()
	cfg.Command = "go run ./test/bench " + strings.Join(os.Args[1:], " ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stderr)
	if res != nil {
		fmt.Println(res.Markdown())
		if werr := os.WriteFile(cfg.Out, []byte(res.Markdown()), 0o644); werr != nil {
			fmt.Fprintln(os.Stderr, "bench:", werr)
		} else {
			fmt.Fprintln(os.Stderr, "bench: table written to", cfg.Out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func defaultConfig() Config {
	tmp := os.TempDir()
	return Config{
		Matrix:      "embedded+sqlite,kafka+postgres",
		Workloads:   "ingest,drain,keepsup",
		Duration:    15 * time.Second,
		Connections: 64,
		Events:      100_000,
		Partitions:  6,
		Movies:      64,
		Out:         filepath.Join(tmp, "reelay-bench.md"),
		ProfileTime: 5 * time.Second,
		KafkaDir:    filepath.Join(tmp, "reelay-bench-kafka"),
		PostgresDir: filepath.Join(tmp, "reelay-bench-pg"),
		Timeout:     10 * time.Minute,
		WarmUp:      20 * time.Second,
		Rounds:      1,
	}
}
