package test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/events"
)

// blockData is the data of the test's event type: it validates anything.
type blockData struct{}

func (blockData) Validate() error { return nil }

// blockType is the event type a blockingConsumer blocks on.
const blockType = "test.block"

// blockingConsumer is a consumer group on movie-events whose handler of
// blockType events blocks until release is closed (or the router stops):
// its partition has lag and no progress.
func blockingConsumer(group string, release <-chan struct{}) func() events.Consumer {
	return func() events.Consumer {
		return events.Consumer{Name: "blocker", Group: group, Topics: []string{events.TopicMovieEvents},
			Routes: []events.Route{events.On(blockType, func(ctx context.Context, _ events.Envelope, _ blockData) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			})}}
	}
}

// foreignLag computes a group's committed and end offsets on a topic with a
// plain Sarama client, as any Kafka tool would: by partition.
func (in *instance) foreignLag(group, topic string) map[int32][2]int64 {
	in.t.Helper()
	client, err := sarama.NewClient(in.brokers, saramaConfig())
	if err != nil {
		in.t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		in.t.Fatal(err)
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		in.t.Fatal(err)
	}
	committed, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
	if err != nil {
		in.t.Fatal(err)
	}
	out := map[int32][2]int64{}
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			in.t.Fatal(err)
		}
		c := int64(-1)
		if b := committed.GetBlock(topic, p); b != nil {
			c = b.Offset
		}
		out[p] = [2]int64{c, end}
	}
	return out
}

// TestStuckPartitionIsReportedAndClears: a handler that blocks leaves its
// partition with lag and no commit; within REELAY_STUCK_AFTER and a few
// seconds it shows as stuck in the admin API, in reelay_partition_stuck and
// in /readyz's body (which stays 200), with the committed and end offsets a
// foreign client reads. Once the handler returns, it clears everywhere.
func TestStuckPartitionIsReportedAndClears(t *testing.T) {
	parallel(t)
	group, eventType := uid("blocker-group"), blockType
	release := make(chan struct{})
	blocker := blockingConsumer(group, release)
	cfg := adminConfig(t)
	cfg.StuckAfter = 2 * time.Second
	in := start(t, cfg, fx.Provide(app.AsConsumer(blocker)))
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	key := uid("stuck")
	partition := in.produce(events.TopicMovieEvents, key, []byte(`{}`), map[string]string{
		events.HeaderSpecVersion: events.SpecVersion, events.HeaderID: uid("e"), events.HeaderSource: "test",
		events.HeaderType: eventType, events.HeaderContentType: events.ContentTypeJSON})
	series := fmt.Sprintf(`reelay_partition_stuck{group=%q,partition="%d",reason="no_progress",topic=%q}`, group, partition, events.TopicMovieEvents)
	lagOf := func() map[string]any {
		body := in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/lag", nil)
		for _, g := range body["groups"].([]any) {
			if g := g.(map[string]any); g["group"] == group {
				for _, p := range g["partitions"].([]any) {
					if p := p.(map[string]any); p["topic"] == events.TopicMovieEvents && p["partition"].(float64) == float64(partition) {
						return p
					}
				}
			}
		}
		return nil
	}
	began := time.Now()
	eventually(t, cfg.StuckAfter+10*time.Second, func() error {
		p := lagOf()
		if p == nil || p["stuck"] != true {
			return fmt.Errorf("lag %v", p)
		}
		foreign := in.foreignLag(group, events.TopicMovieEvents)[partition]
		if p["committed"].(float64) != float64(foreign[0]) || p["end"].(float64) != float64(foreign[1]) ||
			p["lag"].(float64) != float64(foreign[1]-max(foreign[0], 0)) || p["lag"].(float64) < 1 {
			return fmt.Errorf("lag %v, a foreign client reads committed %d and end %d", p, foreign[0], foreign[1])
		}
		if v := metricValue(t, in, series); v != 1 {
			return fmt.Errorf("%s = %v", series, v)
		}
		code, body := in.do(http.MethodGet, "/readyz", nil, nil)
		raw, _ := json.Marshal(body)
		if code != http.StatusOK || !strings.Contains(string(raw), `"reason":"no_progress"`) || !strings.Contains(string(raw), group) {
			return fmt.Errorf("readyz %d %s", code, raw)
		}
		return nil
	})
	t.Logf("reported stuck %.1fs after the record was produced (REELAY_STUCK_AFTER %s)", time.Since(began).Seconds(), cfg.StuckAfter)
	if code, out, errOut := in.reelay("lag"); code != 3 || !strings.Contains(out, group) || !strings.Contains(out, "STUCK") {
		t.Fatalf("reelay lag: exit %d (want 3: a stuck partition)\n%s%s", code, out, errOut)
	}
	if code, out, _ := in.reelay("topics"); code != 0 || !strings.Contains(out, events.ReplayTopic(events.GroupMovie)) {
		t.Fatalf("reelay topics: exit %d\n%s", code, out)
	}

	close(release)
	released = true
	eventually(t, wait, func() error {
		p := lagOf()
		if p == nil || p["stuck"] != false || p["lag"].(float64) != 0 {
			return fmt.Errorf("lag %v", p)
		}
		if v := metricValue(t, in, series); v != 0 {
			return fmt.Errorf("%s = %v", series, v)
		}
		_, body := in.do(http.MethodGet, "/readyz", nil, nil)
		if raw, _ := json.Marshal(body); strings.Contains(string(raw), group) {
			return fmt.Errorf("readyz %s", raw)
		}
		if code, out, _ := in.reelay("lag"); code != 0 {
			return fmt.Errorf("reelay lag: exit %d\n%s", code, out)
		}
		foreign := in.foreignLag(group, events.TopicMovieEvents)
		for part, f := range foreign {
			if f[0] != f[1] && f[1] > 0 {
				return fmt.Errorf("a foreign client reads lag on partition %d: %v", part, f)
			}
		}
		return nil
	})
}
