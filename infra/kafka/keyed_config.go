package kafka

import (
	"errors"
	"fmt"
	"time"
)

// KeyedSubscriberConfig configures a KeyedSubscriber. Zero fields take the
// defaults named on each; NewKeyedSubscriber applies them and validates.
type KeyedSubscriberConfig struct {
	// Brokers are the bootstrap addresses (host:port). Required.
	Brokers []string
	// ConsumerGroup is the Kafka consumer group the subscriber joins for
	// every topic it subscribes to. Required.
	ConsumerGroup string
	// ClientID names the client to the brokers. Default "reelay-" + ConsumerGroup.
	ClientID string
	// Security is how the client connects (TLS, SASL). Zero: plaintext.
	Security Security

	// MaxInFlightPerPartition bounds the messages of one partition handed
	// out and neither acked nor nacked; they always have different keys.
	// Default 16. 1 hands out one message per partition at a time, like
	// watermill-kafka.
	MaxInFlightPerPartition int
	// MaxInFlight bounds the messages handed out and neither acked nor
	// nacked, across all partitions and subscriptions. Default 512.
	MaxInFlight int
	// MaxBufferedRecords bounds the records fetched and not yet acked of
	// the partitions whose fetching is not paused; fetching waits while it
	// is reached. Default 32768 (a few megabytes of records).
	MaxBufferedRecords int
	// MaxBufferedPerPartition pauses fetching a partition that holds this
	// many records not yet acked, until it holds half as many, so that a
	// slow key holds back its own partition and no other. A paused
	// partition holds at most twice this many. Default 4096: a pause costs
	// up to FetchMaxWait before the partition is fetched again.
	MaxBufferedPerPartition int
	// MaxBufferedBytes and MaxBufferedBytesPerPartition bound the same
	// records by size (key, value and headers), so that large records
	// cannot fill memory before the record counts are reached. Defaults
	// 64 MiB and 16 MiB. A fetch returns whole batches and is bounded on
	// the wire, so a partition may pass its bound by one fetch: a batch, or
	// more records when they were compressed well.
	MaxBufferedBytes             int64
	MaxBufferedBytesPerPartition int64
	// NackBackoff is how long a nacked message's key waits before the
	// message is handed out again. Default 100 ms.
	NackBackoff time.Duration
	// SettledByConsumer says the consumer reports every message's outcome
	// with Settle, and Ack and Nack are not watched: the subscriber then
	// runs no goroutine per message to wait for them. For a consumer that
	// sees the outcome of every message it receives, as a router middleware
	// does; a message it never settles holds its key and its slot of
	// MaxInFlight until its partition is given up.
	SettledByConsumer bool
	// MaxRun, above 1, lets one message carry up to this many records of
	// one partition that may be processed now (a run, RunOf), for a
	// consumer that applies many records together: each record of a run
	// is a message of its own, settled with Settle, and a key's records in
	// a run follow each other in offset order. It requires
	// SettledByConsumer. Default 1: one record per message.
	MaxRun int

	// CommitInterval is how often the offsets of acked messages are
	// committed (besides on revoke and on Close). Default 1 s.
	CommitInterval time.Duration
	// CommitTimeout bounds one offset commit. Default 10 s.
	CommitTimeout time.Duration
	// RevokeTimeout is how long a revoked partition's messages in flight may
	// take to be acked before its offset is committed and the partition given
	// up; it must be shorter than RebalanceTimeout. Default 10 s.
	RevokeTimeout time.Duration
	// CloseTimeout is how long Close waits for the messages in flight to be
	// acked before it commits and leaves the group. Default 10 s.
	CloseTimeout time.Duration

	// SessionTimeout is how long the group waits for a silent member before
	// it gives its partitions to others. Default 10 s.
	SessionTimeout time.Duration
	// HeartbeatInterval is how often the member tells the group it lives,
	// and learns of a rebalance. Default 1 s.
	HeartbeatInterval time.Duration
	// RebalanceTimeout is how long the group waits for every member to
	// rejoin during a rebalance. Default 60 s.
	RebalanceTimeout time.Duration
	// FetchMaxWait is how long a broker holds a fetch without new records;
	// it also bounds how late a resumed or newly added topic is fetched.
	// Default 250 ms.
	FetchMaxWait time.Duration

	// PatternScanInterval is how often pattern subscriptions look for new
	// topics. Default 2 s.
	PatternScanInterval time.Duration
	// MaxPatternTopics caps the topics one pattern subscription follows;
	// matching topics past it are logged, reported to
	// OnPatternTopicsIgnored and not consumed. Default 64.
	MaxPatternTopics int
	// OnPatternTopicsIgnored, when set, is called with a pattern and how
	// many matching topics it leaves out for the cap, whenever that number
	// changes (0 again when room is made). Suits a gauge.
	OnPatternTopicsIgnored func(pattern string, ignored int)

	// InitializeTopicPartitions is the partition count of a topic created by
	// SubscribeInitialize (tests and tools; Reelay's own topics are created
	// by Admin). Default -1: the broker's default.
	InitializeTopicPartitions int32
}

func (c *KeyedSubscriberConfig) setDefaults() {
	if c.ClientID == "" {
		c.ClientID = "reelay-" + c.ConsumerGroup
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxInFlightPerPartition, 16)
	def(&c.MaxInFlight, 512)
	def(&c.MaxRun, 1)
	def(&c.MaxBufferedRecords, 32768)
	def(&c.MaxBufferedPerPartition, 4096)
	def(&c.MaxPatternTopics, 64)
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = 64 << 20
	}
	if c.MaxBufferedBytesPerPartition == 0 {
		c.MaxBufferedBytesPerPartition = 16 << 20
	}
	dur(&c.NackBackoff, 100*time.Millisecond)
	dur(&c.CommitInterval, time.Second)
	dur(&c.CommitTimeout, 10*time.Second)
	dur(&c.RevokeTimeout, 10*time.Second)
	dur(&c.CloseTimeout, 10*time.Second)
	dur(&c.SessionTimeout, 10*time.Second)
	dur(&c.HeartbeatInterval, time.Second)
	dur(&c.RebalanceTimeout, 60*time.Second)
	dur(&c.FetchMaxWait, 250*time.Millisecond)
	dur(&c.PatternScanInterval, 2*time.Second)
	if c.InitializeTopicPartitions == 0 {
		c.InitializeTopicPartitions = -1
	}
}

// Validate reports every field that is missing or out of range.
func (c KeyedSubscriberConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("Brokers: at least one is required"))
	}
	if c.ConsumerGroup == "" {
		errs = append(errs, errors.New("ConsumerGroup is required"))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"MaxInFlightPerPartition", c.MaxInFlightPerPartition}, {"MaxInFlight", c.MaxInFlight},
		{"MaxBufferedRecords", c.MaxBufferedRecords}, {"MaxBufferedPerPartition", c.MaxBufferedPerPartition},
		{"MaxPatternTopics", c.MaxPatternTopics}, {"MaxRun", c.MaxRun}} {
		if f.v < 1 {
			errs = append(errs, fmt.Errorf("%s is %d; it must be at least 1", f.name, f.v))
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"MaxBufferedBytes", c.MaxBufferedBytes}, {"MaxBufferedBytesPerPartition", c.MaxBufferedBytesPerPartition}} {
		if f.v < 1024 || f.v > 1<<30 {
			errs = append(errs, fmt.Errorf("%s is %d; it must be from 1 KiB to 1 GiB", f.name, f.v))
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"NackBackoff", c.NackBackoff}, {"CommitInterval", c.CommitInterval}, {"CommitTimeout", c.CommitTimeout},
		{"RevokeTimeout", c.RevokeTimeout}, {"CloseTimeout", c.CloseTimeout}, {"SessionTimeout", c.SessionTimeout},
		{"HeartbeatInterval", c.HeartbeatInterval}, {"RebalanceTimeout", c.RebalanceTimeout},
		{"FetchMaxWait", c.FetchMaxWait}, {"PatternScanInterval", c.PatternScanInterval}} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("%s is %s; it must be positive", f.name, f.v))
		}
	}
	if c.RevokeTimeout >= c.RebalanceTimeout {
		errs = append(errs, fmt.Errorf("RevokeTimeout (%s) must be shorter than RebalanceTimeout (%s)", c.RevokeTimeout, c.RebalanceTimeout))
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, fmt.Errorf("HeartbeatInterval (%s) must be shorter than SessionTimeout (%s)", c.HeartbeatInterval, c.SessionTimeout))
	}
	if c.MaxRun > 1 && !c.SettledByConsumer {
		errs = append(errs, fmt.Errorf("MaxRun is %d; runs need SettledByConsumer", c.MaxRun))
	}
	if c.InitializeTopicPartitions == 0 || c.InitializeTopicPartitions < -1 {
		errs = append(errs, fmt.Errorf("InitializeTopicPartitions is %d; it must be -1 or at least 1", c.InitializeTopicPartitions))
	}
	return errors.Join(errs...)
}
