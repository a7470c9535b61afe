package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Offsets reads consumer groups' committed offsets, partitions' end
// offsets and the cluster's topics, for the admin API.
type Offsets struct {
	client *kgo.Client
	admin  *kadm.Client
}

// NewOffsets prepares an admin client for brokers; it connects on first use.
func NewOffsets(brokers []string, opts ...Option) (*Offsets, error) {
	sec := applyOptions(opts).security
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID("reelay-offsets"),
		kgo.DialTimeout(2 * time.Second),
	}, sec.kgoOpts()...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets: %w", err)
	}
	return &Offsets{client: cl, admin: kadm.NewClient(cl)}, nil
}

// Close closes the client.
func (o *Offsets) Close() { o.client.Close() }

// PartitionLag is how far a group is behind on one partition. Committed is
// -1 when the group has committed nothing there; Lag then counts from the
// partition's first record.
type PartitionLag struct {
	Group     string
	Topic     string
	Partition int32
	Committed int64
	End       int64
	Lag       int64
}

// GroupLag returns the lag of groups on every partition they are assigned
// or have committed to, sorted by group, topic and partition. A group that
// never joined has none.
func (o *Offsets) GroupLag(ctx context.Context, groups []string) ([]PartitionLag, error) {
	// A copy: kadm's Lag reuses the slice it is given as scratch space.
	lags, err := o.admin.Lag(ctx, slices.Clone(groups)...)
	if err != nil {
		return nil, err
	}
	var out []PartitionLag
	for _, g := range lags.Sorted() {
		if err := g.Error(); errors.Is(err, kerr.GroupIDNotFound) {
			continue // never joined: nothing to lag behind
		} else if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.Group, err)
		}
		for _, l := range g.Lag.Sorted() {
			if l.Err != nil {
				return nil, fmt.Errorf("group %s, %s/%d: %w", g.Group, l.Topic, l.Partition, l.Err)
			}
			out = append(out, PartitionLag{Group: g.Group, Topic: l.Topic, Partition: l.Partition,
				Committed: l.Commit.At, End: l.End.Offset, Lag: l.Lag})
		}
	}
	return out, nil
}

// TopicInfo describes a topic.
type TopicInfo struct {
	Name              string
	Partitions        int
	ReplicationFactor int
}

// Topics lists the cluster's topics, internal ones left out, by name.
func (o *Offsets) Topics(ctx context.Context) ([]TopicInfo, error) {
	ts, err := o.admin.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TopicInfo, 0, len(ts))
	for _, t := range ts.Sorted() {
		if t.Err != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Topic, t.Err)
		}
		out = append(out, TopicInfo{Name: t.Topic, Partitions: len(t.Partitions), ReplicationFactor: t.Partitions.NumReplicas()})
	}
	return out, nil
}
