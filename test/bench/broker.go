package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// Consumer groups of movie-views.
const (
	groupMovie     = "movie-group"
	groupAnalytics = "analytics-group"
)

// broker is the Kafka cluster of a cell. It belongs to the harness: reset
// deletes every topic and group on it.
type broker struct {
	addrs    []string
	embedded *kafka.Embedded // nil for Apache Kafka, which the harness stops at the end
}

func (b *broker) close() {
	if b.embedded != nil {
		b.embedded.Close()
	}
}

// broker starts the embedded broker in this process, or Apache Kafka once
// per run through the project's scripts.
func (h *harness) broker(ctx context.Context, kind string) (*broker, error) {
	if kind == brokerEmbedded {
		e, err := kafka.StartEmbedded("127.0.0.1:0", filepath.Join(h.work, h.tempName("embedded")))
		if err != nil {
			return nil, err
		}
		return &broker{addrs: []string{e.Addr()}, embedded: e}, nil
	}
	if h.kafka == nil {
		dir := h.cfg.KafkaDir
		h.logf("starting Apache Kafka in %s (test/scripts/kafka.sh up-single)", dir)
		h.cleanups = append(h.cleanups, func() {
			h.logf("stopping Apache Kafka in %s", dir)
			_ = h.script(context.Background(), "kafka.sh", "down", dir)
		})
		if _, err := h.scriptOutput(ctx, "kafka-fetch.sh"); err != nil {
			return nil, err
		}
		out, err := h.scriptOutput(ctx, "kafka.sh", "up-single", dir)
		if err != nil {
			return nil, err
		}
		h.kafka = strings.Split(out, ",")
		if h.cfg.WarmUp > 0 {
			h.logf("warming Apache Kafka up for %s", h.cfg.WarmUp)
			if err := (&broker{addrs: h.kafka}).warmUp(ctx, h.cfg.Partitions, h.cfg.Movies, h.cfg.WarmUp); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	return &broker{addrs: h.kafka}, nil
}

// startPostgres starts the private PostgreSQL server once per run.
func (h *harness) startPostgres(ctx context.Context) error {
	if h.pgURL != "" {
		return nil
	}
	dir := h.cfg.PostgresDir
	h.logf("starting PostgreSQL in %s (test/scripts/postgres.sh up)", dir)
	h.cleanups = append(h.cleanups, func() {
		h.logf("stopping PostgreSQL in %s", dir)
		_ = h.script(context.Background(), "postgres.sh", "down", dir)
	})
	if err := h.script(ctx, "postgres.sh", "install"); err != nil {
		return err
	}
	url, err := h.scriptOutput(ctx, "postgres.sh", "up", dir)
	h.pgURL = url
	return err
}

// scriptOutput runs test/scripts/NAME and returns the last line of its
// stdout; its progress goes to the harness's progress writer.
func (h *harness) scriptOutput(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(h.root, "test", "scripts", name), args...)
	cmd.Stderr = h.progress
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("test/scripts/%s %s: %w", name, strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

func (h *harness) script(ctx context.Context, name string, args ...string) error {
	_, err := h.scriptOutput(ctx, name, args...)
	return err
}

func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V3_6_0_0
	c.Admin.Timeout = 30 * time.Second
	return c
}

// reset deletes every topic and consumer group, so that a run starts from
// nothing, and creates movie-views with partitions partitions.
func (b *broker) reset(ctx context.Context, partitions int) error {
	admin, err := sarama.NewClusterAdmin(b.addrs, saramaConfig())
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	defer func() { _ = admin.Close() }()
	// A group is deleted once its members left; a stopped process's
	// members leave as it stops, a killed one's when their session ends.
	if err := retry(ctx, 60*time.Second, func() error {
		groups, err := admin.ListConsumerGroups()
		if err != nil {
			return err
		}
		var errs []error
		for g := range groups {
			errs = append(errs, admin.DeleteConsumerGroup(g))
		}
		return errors.Join(errs...)
	}); err != nil {
		return fmt.Errorf("deleting consumer groups: %w", err)
	}
	if err := retry(ctx, 60*time.Second, func() error {
		topics, err := admin.ListTopics()
		if err != nil {
			return err
		}
		var left []string
		for t := range topics {
			if !strings.HasPrefix(t, "__") {
				left = append(left, t)
				if err := admin.DeleteTopic(t); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
					return err
				}
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("topics left: %v", left)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("deleting topics: %w", err)
	}
	detail := &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1}
	if err := retry(ctx, 60*time.Second, func() error {
		err := admin.CreateTopic(events.TopicMovieViews, detail, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return err
		}
		meta, err := admin.DescribeTopics([]string{events.TopicMovieViews})
		if err != nil {
			return err
		}
		if len(meta) != 1 || len(meta[0].Partitions) != partitions {
			return errors.New("movie-views is not there yet")
		}
		for _, p := range meta[0].Partitions {
			if p.Err != sarama.ErrNoError || p.Leader < 0 {
				return fmt.Errorf("movie-views/%d has no leader yet", p.ID)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("creating movie-views: %w", err)
	}
	return nil
}

// retry calls fn until it succeeds, returns a final error, ctx ends or
// within has passed.
func retry(ctx context.Context, within time.Duration, fn func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		var f final
		if errors.As(err, &f) {
			return f.error
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// final wraps an error that retrying cannot cure.
type final struct{ error }

// preload produces n movie.viewed events onto movie-views as fast as a
// batching franz-go producer goes (acks=all, idempotent, key = movie id,
// CloudEvents binary headers, like Reelay's).
func (b *broker) preload(ctx context.Context, n, movies int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...), kgo.DefaultProduceTopic(events.TopicMovieViews),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(50_000),
		// movie-views was just made again: ask again soon while the broker does not know it yet.
		kgo.MetadataMinAge(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	var (
		mu    sync.Mutex
		first error
	)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range n {
		movie := movieID(i, movies)
		rec := &kgo.Record{Key: []byte(movie), Value: fmt.Appendf(nil, `{"movieId":%q,"userId":"u%d","watchedSeconds":1}`, movie, i%100)}
		for k, v := range map[string]string{
			events.HeaderSpecVersion: events.SpecVersion, events.HeaderID: events.NewID(), events.HeaderType: events.TypeMovieViewed,
			events.HeaderSource: "reelay/bench", events.HeaderTime: now, events.HeaderContentType: events.ContentTypeJSON,
		} {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return first
}

// warmUp loads the broker the way the workloads do, unmeasured, for about
// d: 64 producers sending one record at a time (many small produce
// requests, like an ingest), then a consumer group reading everything
// they sent (fetches, like a drain).
func (b *broker) warmUp(ctx context.Context, partitions, movies int, d time.Duration) error {
	if err := b.reset(ctx, partitions); err != nil {
		return err
	}
	pcl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...), kgo.DefaultProduceTopic(events.TopicMovieViews),
		kgo.MetadataMinAge(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer pcl.Close()
	var (
		sent atomic.Int64
		wg   sync.WaitGroup
		errs = make(chan error, 64)
	)
	until := time.Now().Add(d * 2 / 3)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; time.Now().Before(until) && ctx.Err() == nil; i += 64 {
				movie := movieID(i, movies)
				rec := &kgo.Record{Key: []byte(movie), Value: fmt.Appendf(nil, `{"movieId":%q,"userId":"u%d","watchedSeconds":1}`, movie, i%100),
					Headers: []kgo.RecordHeader{{Key: events.HeaderID, Value: []byte(uuid.NewString())}, {Key: events.HeaderType, Value: []byte(events.TypeMovieViewed)}}}
				if err := pcl.ProduceSync(ctx, rec).FirstErr(); err != nil {
					errs <- err
					return
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	ccl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...), kgo.ConsumeTopics(events.TopicMovieViews),
		kgo.ConsumerGroup("bench-warmup"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer ccl.Close()
	ctx, cancel := context.WithTimeout(ctx, max(d, time.Minute))
	defer cancel()
	for read := int64(0); read < sent.Load(); {
		fetches := ccl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("read %d of %d records: %w", read, sent.Load(), ctx.Err())
		}
		read += int64(fetches.NumRecords())
	}
	return nil
}

// movieID is the key of the i-th event of a load over movies ids.
func movieID(i, movies int) string { return fmt.Sprintf("bench-m%03d", i%movies) }

// tempName is unique within a run, for files and schemas.
func (h *harness) tempName(prefix string) string {
	h.seq++
	return fmt.Sprintf("%s_%02d", prefix, h.seq)
}
