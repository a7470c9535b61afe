// Command baseline is the hand-written service the throughput harness
// (test/bench) measures Reelay against: the same work as Reelay's view
// workload with no framework around it. The harness builds it and runs it as
// a process, so that its CPU time and memory are its own.
//
//	baseline ingest -addr 127.0.0.1:8081 -brokers 127.0.0.1:9092
//	baseline drain  -addr 127.0.0.1:8082 -brokers 127.0.0.1:9092 -database URL -groups movie-group,analytics-group
//
// ingest serves POST /api/v1/movies/{id}/views with net/http and one Sarama
// SyncProducer configured as Reelay's publisher (idempotent, acks=all,
// MaxOpenRequests=1, murmur2 on the movie id) and the same CloudEvents binary
// headers; 202 after the broker acknowledged.
//
// drain consumes movie-views in one franz-go consumer group per named group
// and applies each poll's batch in ONE transaction with Reelay's inbox rule:
// one statement inserts the batch's inbox rows (group, event id) with ON
// CONFLICT DO NOTHING and returns those it inserted, then one upsert per
// movie (and, for analytics-group, per user) adds what the new events count.
// Offsets are committed after the transaction. -database is a SQLite path or
// a postgres:// URL whose tables exist (the harness applies Reelay's
// migrations); on SQLite the groups share one writer connection, as in Reelay.
//
// Both serve GET /readyz on -addr: 200 once the producer is connected, or
// once every group has its partitions. SIGTERM stops them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: baseline ingest|drain [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "HTTP listen address")
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated Kafka bootstrap brokers")
	database := fs.String("database", "", "drain: SQLite file path or postgres:// URL")
	groups := fs.String("groups", "movie-group", "drain: comma-separated consumer groups (movie-group, analytics-group)")
	_ = fs.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "ingest":
		err = ingest(ctx, *addr, strings.Split(*brokers, ","))
	case "drain":
		err = drain(ctx, *addr, strings.Split(*brokers, ","), *database, strings.Split(*groups, ","))
	default:
		err = fmt.Errorf("unknown command %q: want ingest or drain", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

// serve runs an HTTP server on addr until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
