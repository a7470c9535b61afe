package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// listTopics names the cluster's topics, internal ones left out, sorted.
func (s *KeyedSubscriber) listTopics(ctx context.Context) ([]string, error) {
	req := kmsg.NewPtrMetadataRequest() // no topics: all of them
	resp, err := req.RequestWith(ctx, s.client)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var names []string
	for _, t := range resp.Topics {
		if t.Topic != nil && t.ErrorCode == 0 && !t.IsInternal {
			names = append(names, *t.Topic)
		}
	}
	sort.Strings(names)
	return names, nil
}

// SubscribeInitialize creates topic when it does not exist, with
// InitializeTopicPartitions partitions and the broker's default replication,
// and waits until every partition has a leader. It serves tools and tests
// (Watermill's message.SubscribeInitializer); Reelay's topics are created
// by Admin. A pattern creates nothing.
func (s *KeyedSubscriber) SubscribeInitialize(topic string) error {
	if strings.HasSuffix(topic, "*") {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.pollCtx, 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = s.cfg.InitializeTopicPartitions
	rt.ReplicationFactor = -1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, s.client)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	for {
		if s.hasLeaders(ctx, topic) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s has no leader for every partition: %w", topic, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hasLeaders reports whether the metadata lists topic with a leader for
// each of its partitions.
func (s *KeyedSubscriber) hasLeaders(ctx context.Context, topic string) bool {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, s.client)
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) == 0 {
		return false
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 0 || p.Leader < 0 {
			return false
		}
	}
	return true
}
