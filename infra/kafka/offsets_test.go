package kafka_test

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelay/reelay/infra/kafka"
)

// TestGroupLagCountsCommittedAgainstEnd: lag is end minus committed per
// partition, a group that committed nothing counts from the first record,
// and the caller's list of groups is left as it was (kadm reuses the slice
// it is given; several goroutines share this one).
func TestGroupLagCountsCommittedAgainstEnd(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range 5 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumerGroup("half"), kgo.ConsumeTopics("t"),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var got []*kgo.Record
	for len(got) < 2 {
		got = append(got, consumer.PollFetches(ctx).Records()...)
	}
	if err := consumer.CommitRecords(ctx, got[1]); err != nil { // committed offset 2
		t.Fatal(err)
	}

	o, err := kafka.NewOffsets(cluster.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	groups := []string{"zz-none", "half", "aa-none"}
	lags, err := o.GroupLag(ctx, groups)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(groups, []string{"zz-none", "half", "aa-none"}) {
		t.Fatalf("groups changed to %v", groups)
	}
	want := kafka.PartitionLag{Group: "half", Topic: "t", Partition: 0, Committed: 2, End: 5, Lag: 3}
	if len(lags) != 1 || lags[0] != want {
		t.Fatalf("lag %+v, want %+v", lags, want)
	}
}
