package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Probe tells whether the cluster, as it is now, can take this instance's
// events: it asks for the metadata of the instance's topics from any live
// broker (the seeds and every broker learned since, tried in turn until the
// context ends), and passes when the answer names a controller and a leader
// for every partition. One broker down of three passes as soon as the
// controller has moved its partitions' leadership; a cluster that cannot be
// reached, or a partition with no leader, fails.
type Probe struct {
	client *kgo.Client
	topics []string
}

// NewProbe connects to brokers with opts' security; it does no I/O.
func NewProbe(brokers, topics []string, opts ...Option) (*Probe, error) {
	sec := applyOptions(opts).security
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID("reelay-probe"),
		kgo.DialTimeout(2 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
	}, sec.kgoOpts()...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka probe: %w", err)
	}
	return &Probe{client: cl, topics: topics}, nil
}

// Check passes (nil) when a broker answered with a controller and a leader
// for every partition of the probe's topics; it gives up when ctx ends.
func (p *Probe) Check(ctx context.Context) error {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range p.topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, p.client)
	if err != nil {
		return fmt.Errorf("no broker answered: %w", err)
	}
	if resp.ControllerID < 0 {
		return errors.New("the cluster has no active controller")
	}
	for _, t := range resp.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("topic %s: %w", name, err)
		}
		for _, part := range t.Partitions {
			if err := kerr.ErrorForCode(part.ErrorCode); err != nil && !errors.Is(err, kerr.ReplicaNotAvailable) {
				return fmt.Errorf("%s/%d: %w", name, part.Partition, err)
			}
			if part.Leader < 0 {
				return fmt.Errorf("%s/%d has no leader", name, part.Partition)
			}
		}
	}
	return nil
}

// Close disconnects.
func (p *Probe) Close() { p.client.Close() }
