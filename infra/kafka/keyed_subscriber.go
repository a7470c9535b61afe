package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrSubscriberClosed is returned by Subscribe after Close.
var ErrSubscriberClosed = errors.New("subscriber is closed")

// KeyedSubscriber is a Watermill subscriber for one consumer group on
// franz-go that hands out several messages of a partition at once, in the
// manner of Confluent's Parallel Consumer. One Kafka client serves every
// topic the group subscribes to.
//
// Order: two messages with the same record key are never out together (out:
// sent on the channel and neither acked nor nacked), and they are sent in
// offset order. Records without a key are ordered among themselves, per
// partition, like one key. Messages of different keys of a partition are out
// together up to MaxInFlightPerPartition, and up to MaxInFlight over all
// partitions. There is no order across partitions or topics. (A consumer
// that calls Sequenced, or takes runs (MaxRun), takes over part of this:
// see Sequenced and RunOf.)
//
// Ack and commit: each partition commits the offset after the longest run of
// acked messages from where it started (an acked offset 7 with offset 5 out
// commits at most 5), every CommitInterval, when the partition is revoked
// and on Close. Delivery is at least once: after a crash, a rebalance or a
// timeout, a message may come again; acked messages whose offset was
// committed do not.
//
// Nack: a nacked message is sent again after NackBackoff (the same record,
// as a new *message.Message); only its key waits, the other keys of the
// partition go on.
//
// Rebalance: a revoked partition stops handing out messages and drops the
// records it has not sent; its messages out get RevokeTimeout to be acked,
// then its offset is committed and the partition given up. The contexts of
// messages still out are then canceled and their acks ignored: the
// partition's next owner sends them again. A lost partition (the member was
// fenced) is dropped without a commit.
//
// Each message's context carries its record (RecordFromContext) and is
// canceled once the message is acked or nacked, once its partition is given
// up, or when Close gives up waiting; it derives from the context passed to
// Subscribe.
type KeyedSubscriber struct {
	cfg       KeyedSubscriberConfig
	logger    *slog.Logger
	client    *kgo.Client
	marshaler Marshaler

	mu            sync.Mutex
	parts         map[topicPartition]*partition
	owners        map[string]*subscription // topic → the live subscription its messages go to
	subs          map[*subscription]struct{}
	inFlight      int           // messages out, all partitions
	buffered      int           // records queued or out, of the partitions not paused
	bufferedBytes int64         // their sizes
	changed       chan struct{} // closed when inFlight or buffered goes down (nil: nobody waits; see changes)
	started       bool
	closing       bool

	// commitMu orders commits: a periodic commit gathered before a revoke
	// cannot land after the revoke's commit.
	commitMu sync.Mutex
	// pauseMu serializes pausing and resuming partitions (applyPause).
	pauseMu sync.Mutex

	pollCtx  context.Context // canceled when Close begins
	stopPoll context.CancelFunc
	closed   chan struct{} // closed when Close begins
	loops    sync.WaitGroup
	awaits   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

type topicPartition struct {
	topic     string
	partition int32
}

// partition is the state of one partition assigned to this member.
type partition struct {
	tp        topicPartition
	queue     *partitionQueue
	sub       *subscription // nil while no live subscription takes the topic
	committed int64         // the last offset this member committed; -1 none
	paused    bool          // fetching paused: it holds MaxBufferedPerPartition records
	removed   bool          // revoked, lost or closed: acks are ignored
	revoking  chan struct{} // closed when the partition starts draining
	gone      chan struct{} // closed when removed
	// ctx is the parent of the contexts of its messages sent to
	// subscription ctxOf (made by take), canceled when it is removed.
	ctx    context.Context
	cancel context.CancelFunc
	ctxOf  *subscription
	// before are the cancels of the contexts it had for subscriptions that
	// gave its topic up while still live (a pattern's, to an exact
	// subscription): messages sent through them may still be out.
	before []context.CancelFunc
}

// newContext makes the parent of p's messages sent to sub, keeping the
// cancel of the previous one while its subscription lives. s.mu is held.
func (p *partition) newContext(sub *subscription) {
	if p.cancel != nil && p.ctx.Err() == nil {
		p.before = append(p.before, p.cancel)
	}
	p.ctx, p.cancel = context.WithCancel(sub.ctx)
	p.ctxOf = sub
}

// subscription is one Subscribe call: one exact topic, or a pattern.
type subscription struct {
	name   string // as given to Subscribe
	prefix string // a pattern's prefix
	exact  bool
	ctx    context.Context
	out    chan *message.Message
	done   chan struct{} // closed when the subscription ends
	wake   chan struct{}
	ended  bool
	parts  []*partition
	rr     int
	// adopted holds the topics a pattern follows; ignored counts the
	// matching topics left out for the cap at the last scan.
	adopted map[string]bool
	ignored int
}

// NewKeyedSubscriber builds the subscriber of cfg.ConsumerGroup, logging to
// logger (nil: nowhere). It does not connect: the client joins the group at
// the first Subscribe.
func NewKeyedSubscriber(cfg KeyedSubscriberConfig, logger *slog.Logger) (*KeyedSubscriber, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka keyed subscriber %s: %w", cfg.ConsumerGroup, err)
	}
	s := &KeyedSubscriber{
		cfg:    cfg,
		logger: logger.With("group", cfg.ConsumerGroup),
		parts:  map[topicPartition]*partition{},
		owners: map[string]*subscription{},
		subs:   map[*subscription]struct{}{},
		closed: make(chan struct{}),
	}
	s.pollCtx, s.stopPoll = context.WithCancel(context.Background())
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(kgoLogger{s.logger}),
		kgo.ConsumerGroup(cfg.ConsumerGroup),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
		// cooperative-sticky first; sticky too, so that a rolling switch
		// from Sarama's sticky members keeps one group protocol.
		kgo.Balancers(kgo.CooperativeStickyBalancer(), kgo.StickyBalancer()),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(cfg.HeartbeatInterval),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.FetchMaxWait(cfg.FetchMaxWait),
		// One poll adds at most half a partition's byte bound (or one
		// record larger than that) and a few times that in all. The
		// client holds a fetch's records (decompressed, a struct and a
		// header slice each, ~1.3 KiB per small record) until they are all
		// polled, and fetches the next meanwhile, outside the bounds above.
		// The bytes bound the wire: a compressed batch holds several times
		// as much once decompressed, all of it kept while one record of it
		// is. Fetches of 128 KiB per partition and 4 MiB in all, not
		// Kafka's 1 MiB and 50 MiB, keep that to a few MiB per group (a
		// SQLite drain of both groups, snappy batches: 158-164 MB at peak
		// with 128 KiB, 171-217 MB with 256 KiB, 265-309 MB with Kafka's
		// defaults, at the same rate; go tool task bench).
		kgo.FetchMaxPartitionBytes(int32(min(cfg.MaxBufferedBytesPerPartition/2, 128<<10))),
		kgo.FetchMaxBytes(int32(min(cfg.MaxBufferedBytes/4, 4<<20))),
		kgo.DialTimeout(3 * time.Second),
		// Leaders are looked up again at most this long after a fetch
		// from a dead broker failed (franz-go's default is 5 s).
		kgo.MetadataMinAge(time.Second),
	}
	cl, err := kgo.NewClient(append(opts, cfg.Security.kgoOpts()...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka keyed subscriber %s: %w", cfg.ConsumerGroup, err)
	}
	s.client = cl
	return s, nil
}

// Subscribe returns the messages of topic for the consumer group. A topic
// ending in "*" is a pattern: the one channel carries the messages of every
// topic that starts with what precedes the "*" (except dead-letter topics,
// events.IsDeadLetterTopic, and internal ones), existing ones and those
// created later, found every PatternScanInterval, up to MaxPatternTopics.
// A topic that has its own subscription is not a pattern's; a topic two
// patterns match goes to the first that finds it.
//
// The subscription ends when ctx is done or at Close: the channel is
// closed, and records of its topics wait (fetching paused) for the next
// Subscribe of the same topic or a pattern that matches it. Subscribing to
// a topic (or pattern) that has a live subscription is an error.
func (s *KeyedSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	prefix, isPattern := strings.CutSuffix(topic, "*")
	if topic == "" || strings.Contains(prefix, "*") {
		return nil, fmt.Errorf("subscribe %q: a topic name, or a prefix followed by one final *", topic)
	}
	sub := &subscription{name: topic, prefix: prefix, exact: !isPattern, ctx: ctx,
		out: make(chan *message.Message), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	if isPattern {
		sub.adopted = map[string]bool{}
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil, ErrSubscriberClosed
	}
	for other := range s.subs {
		if other.name == topic {
			s.mu.Unlock()
			return nil, fmt.Errorf("subscribe %q: already subscribed in group %s", topic, s.cfg.ConsumerGroup)
		}
	}
	s.subs[sub] = struct{}{}
	if sub.exact {
		s.own(topic, sub)
	}
	if !s.started {
		s.started = true
		s.loops.Add(2)
		go s.poll()
		go s.commitLoop()
	}
	s.mu.Unlock()

	if sub.exact {
		s.client.ResumeFetchTopics(topic) // paused if an earlier subscription ended
		s.client.AddConsumeTopics(topic)
	} else if err := s.adopt(ctx, sub); err != nil {
		s.end(sub)
		return nil, fmt.Errorf("subscribe %q: %w", topic, err)
	}
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.loops.Add(2)
		if !sub.exact {
			s.loops.Add(1)
		}
	}
	s.mu.Unlock()
	if closing {
		s.end(sub)
		return nil, ErrSubscriberClosed
	}
	go s.send(sub)
	go func() {
		defer s.loops.Done()
		select {
		case <-ctx.Done():
		case <-s.closed:
		}
		s.end(sub)
	}()
	if !sub.exact {
		go s.scan(sub)
	}
	return sub.out, nil
}

// own makes sub the receiver of topic's messages, taking the topic from a
// pattern that had it. s.mu is held.
func (s *KeyedSubscriber) own(topic string, sub *subscription) {
	if prev := s.owners[topic]; prev != nil {
		delete(prev.adopted, topic)
		prev.parts = removeTopic(prev.parts, topic)
	}
	s.owners[topic] = sub
	for _, p := range s.parts {
		if p.tp.topic == topic && !p.removed {
			p.sub = sub
			sub.parts = append(sub.parts, p)
		}
	}
	wake(sub)
}

func removeTopic(parts []*partition, topic string) []*partition {
	kept := parts[:0]
	for _, p := range parts {
		if p.tp.topic != topic {
			kept = append(kept, p)
		}
	}
	clear(parts[len(kept):])
	return kept
}

// end ends sub: its sender closes its channel, its topics' fetching pauses
// until another subscription takes them.
func (s *KeyedSubscriber) end(sub *subscription) {
	s.mu.Lock()
	if sub.ended {
		s.mu.Unlock()
		return
	}
	sub.ended = true
	close(sub.done)
	var topics []string
	for t, o := range s.owners {
		if o == sub {
			delete(s.owners, t)
			topics = append(topics, t)
		}
	}
	for _, p := range sub.parts {
		p.sub = nil
	}
	sub.parts = nil
	delete(s.subs, sub)
	closing := s.closing
	s.mu.Unlock()
	if !closing && len(topics) > 0 {
		s.client.PauseFetchTopics(topics...)
	}
}

// Close stops fetching, closes every subscription's channel, waits up to
// CloseTimeout for the messages out to be acked, commits the offsets of
// acked messages, and leaves the group. The contexts of messages still out
// are canceled and their acks ignored. It may be called more than once and
// from several goroutines (Watermill's router closes the subscriber once per
// handler): every call returns when the first is done, with its error.
func (s *KeyedSubscriber) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown() })
	return s.closeErr
}

func (s *KeyedSubscriber) shutdown() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	close(s.closed)
	s.stopPoll()
	// No more fetches; once the loops are done, no poll runs and every
	// subscription's channel is closed.
	s.client.PauseFetchTopics(s.client.GetConsumeTopics()...)
	s.loops.Wait()

	s.mu.Lock()
	parts := s.allParts()
	for _, p := range parts {
		s.drain(p)
	}
	s.mu.Unlock()
	if !s.waitUntil(s.cfg.CloseTimeout, func() bool { return s.inFlight == 0 }) {
		s.mu.Lock()
		n := s.inFlight
		s.mu.Unlock()
		s.logger.Warn("closing with messages not acked; they will be delivered again", "in_flight", n, "waited", s.cfg.CloseTimeout)
	}
	err := s.commit(context.Background(), parts)
	s.remove(parts)
	s.awaits.Wait()
	s.client.CloseAllowingRebalance()
	if err != nil {
		return fmt.Errorf("kafka keyed subscriber %s: final commit: %w", s.cfg.ConsumerGroup, err)
	}
	return nil
}

// allParts lists the partitions assigned. s.mu is held.
func (s *KeyedSubscriber) allParts() []*partition {
	parts := make([]*partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	return parts
}
