package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// partitionCounts are the columns of javaPlacements.
var partitionCounts = []int32{1, 3, 6, 7, 100}

// javaPlacements are the partitions Apache Kafka's own Java client chooses
// for each key (its UTF-8 bytes) among 1, 3, 6, 7 and 100 partitions, and the
// key's murmur2 as a Java int. They were computed with kafka-clients 4.4.0
// (the jar test/scripts/kafka-fetch.sh puts under
// ~/.cache/reelay/kafka-4.4.0/libs) and Java 17, by a single-file program run
// as `java -cp "$HOME/.cache/reelay/kafka-4.4.0/libs/*" Partitions.java`
// that printed, for each key k and count n,
// Utils.toPositive(Utils.murmur2(k.getBytes(UTF_8))) % n and checked it equal
// to BuiltInPartitioner.partitionForKey(bytes, n), the producer's own path.
var javaPlacements = []struct {
	key        string
	murmur2    int32
	partitions [5]int32
}{
	{"", 275646681, [5]int32{0, 0, 3, 2, 81}},
	{"a", -1563381124, [5]int32{0, 1, 4, 5, 24}},
	{"foo", 597841616, [5]int32{0, 2, 2, 1, 16}},
	{"heat", 195684976, [5]int32{0, 1, 4, 4, 76}},
	{"movie-42", 883961297, [5]int32{0, 2, 5, 2, 97}},
	{"user_7", 331299862, [5]int32{0, 1, 4, 5, 62}},
	{"550e8400-e29b-41d4-a716-446655440000", 2143099391, [5]int32{0, 2, 5, 6, 91}},
	{"héllo", 614509002, [5]int32{0, 0, 0, 2, 2}},
	{"日本語キー", 1445825182, [5]int32{0, 1, 4, 4, 82}},
	{"🎬🍿", 701161319, [5]int32{0, 2, 5, 5, 19}},
	{"ünïcödé-ключ", -390712212, [5]int32{0, 2, 2, 0, 36}},
	{"a-long-key-" + strings.Repeat("x", 200), -369314404, [5]int32{0, 1, 4, 5, 44}},
	{"k1", 1684045097, [5]int32{0, 2, 5, 0, 97}},
	{"k5", 1075192044, [5]int32{0, 0, 0, 3, 44}},
	{"kafka", -798503068, [5]int32{0, 1, 4, 3, 80}},
	{"1468509572224", -1623571823, [5]int32{0, 0, 3, 3, 25}},
	{"TT0124", -1442328778, [5]int32{0, 1, 4, 0, 70}},
	{"100:48069", 1009543857, [5]int32{0, 0, 3, 0, 57}},
}

// TestPartitionerAgreesWithJava: Reelay's partitioner, and franz-go's
// default one (kgo's default configuration) as a second witness, place every
// key where Java does.
func TestPartitionerAgreesWithJava(t *testing.T) {
	t.Parallel()
	reelay := kafka.NewPartitioner("t")
	// kgo's default partitioner; it partitions through PartitionByBackup,
	// which needs no backup iterator for a keyed record.
	franz, ok := kgo.UniformBytesPartitioner(64<<10, true, true, nil).ForTopic("t").(kgo.TopicBackupPartitioner)
	if !ok {
		t.Fatal("kgo's default partitioner is no longer a TopicBackupPartitioner")
	}
	for _, tc := range javaPlacements {
		for i, n := range partitionCounts {
			want := tc.partitions[i]
			got, err := reelay.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(tc.key)}, n)
			if err != nil || got != want {
				t.Errorf("key %q (murmur2 %d) of %d partitions: Reelay chose %d (%v), Java %d", tc.key, tc.murmur2, n, got, err, want)
			}
			if got := franz.PartitionByBackup(&kgo.Record{Key: []byte(tc.key)}, int(n), nil); int32(got) != want {
				t.Errorf("key %q of %d partitions: franz-go chose %d, Java %d", tc.key, n, got, want)
			}
		}
	}
}

// TestPartitionerSpreadsRecordsWithoutKey: a record without key may go to
// any partition, chosen among the available ones.
func TestPartitionerSpreadsRecordsWithoutKey(t *testing.T) {
	t.Parallel()
	p := kafka.NewPartitioner("t")
	dyn, ok := p.(sarama.DynamicConsistencyPartitioner)
	if !ok || !dyn.RequiresConsistency() || !dyn.MessageRequiresConsistency(&sarama.ProducerMessage{Key: sarama.StringEncoder("")}) ||
		dyn.MessageRequiresConsistency(&sarama.ProducerMessage{}) {
		t.Fatal("keyed records (an empty key included) must keep their partition; records without key need not")
	}
	seen := map[int32]bool{}
	for range 200 {
		got, err := p.Partition(&sarama.ProducerMessage{}, 6)
		if err != nil || got < 0 || got >= 6 {
			t.Fatalf("partition %d, %v", got, err)
		}
		seen[got] = true
	}
	if len(seen) < 2 {
		t.Fatalf("200 records without key all went to %v", seen)
	}
}

// TestPublisherPlacesKeysLikeJava publishes through Reelay's publisher to a
// 7-partition topic of an in-process broker and finds each key on the
// partition Java chooses: the producer is wired to the partitioner.
func TestPublisherPlacesKeysLikeJava(t *testing.T) {
	t.Parallel()
	const topic, partitions, column = "placement", 7, 3
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	pub, err := kafka.NewPublisher(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	want := map[string]int32{}
	for _, tc := range javaPlacements {
		if tc.key == "" {
			continue // Reelay's marshaler writes no key for an empty entity id
		}
		want[tc.key] = tc.partitions[column]
		e, err := events.New(events.TypeMovieViewed, "test", tc.key, map[string]string{"movieId": tc.key})
		if err != nil {
			t.Fatal(err)
		}
		if err := kafka.NewEvents(pub, 5*time.Second, nil).Publish(context.Background(), topic, e); err != nil {
			t.Fatal(err)
		}
	}

	got := map[string]int32{}
	client, err := sarama.NewConsumer(brokers, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for p := range int32(partitions) {
		pc, err := client.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for len(got) < len(want) {
			select {
			case m := <-pc.Messages():
				got[string(m.Key)] = m.Partition
				continue
			case <-time.After(300 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("reading the topic timed out")
			}
			break
		}
		_ = pc.Close()
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("key → partition:\n got %v\nwant %v (Java)", got, want)
	}
}
