package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/reelay/reelay/infra/kafka"
)

// These tests run the KeyedSubscriber on the embedded broker over TCP, or
// on Apache Kafka when REELAY_TEST_KAFKA_BROKERS is set. Messages are
// handled the way Watermill's router handles them: each in its own
// goroutine, acked or nacked when done.

// handle reads ch until it closes, calling fn for each message in its own
// goroutine.
func handle(ch <-chan *message.Message, fn func(*message.Message)) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for msg := range ch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(msg)
			}()
		}
	}()
	return &wg
}

// keyedRecords builds n records for each of keys, valued "key:seq".
func keyedRecords(topic string, keys, n int) []*kgo.Record {
	var recs []*kgo.Record
	for seq := range n {
		for k := range keys {
			key := fmt.Sprintf("key-%d", k)
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(key), Value: fmt.Appendf(nil, "%s:%d", key, seq)})
		}
	}
	return recs
}

func parseValue(t *testing.T, payload []byte) (string, int) {
	key, seq, ok := strings.Cut(string(payload), ":")
	n, err := strconv.Atoi(seq)
	if !ok || err != nil {
		t.Errorf("payload %q", payload)
	}
	return key, n
}

// checkKeyOrder fails unless each key's first deliveries came in sequence.
func checkKeyOrder(t *testing.T, byKey map[string][]int, n int) {
	t.Helper()
	for key, seqs := range byKey {
		var first []int
		for _, s := range seqs {
			if !slices.Contains(first, s) {
				first = append(first, s)
			}
		}
		if !slices.IsSorted(first) || len(first) != n {
			t.Errorf("key %s handled in the order %v", key, seqs)
		}
	}
}

// TestKeyedSubscriberKeepsKeyOrderUnderConcurrency: many keys on few
// partitions, handlers that sleep a little at random: no two messages of a
// key are out together, each key's messages come in order, more than one
// message of a partition is out at some point, and every message carries
// its record in its context.
func TestKeyedSubscriberKeepsKeyOrderUnderConcurrency(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "order")
	createTopic(t, brokers, topic, 3)
	const keys, perKey = 40, 25
	produce(t, producer(t, brokers), keyedRecords(topic, keys, perKey)...)

	sub := newKeyed(t, fastConfig(brokers, uniqueName(t, "order-group")))
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger()
	var keyOut sync.Map // key → *atomic.Int32
	handle(ch, func(msg *message.Message) {
		info, ok := kafka.RecordFromContext(msg.Context())
		key, seq := parseValue(t, msg.Payload)
		if !ok || info.Topic != topic || string(info.Key) != key || info.Timestamp.IsZero() {
			t.Errorf("record info %+v, %v for %s", info, ok, msg.Payload)
		}
		out, _ := keyOut.LoadOrStore(key, new(atomic.Int32))
		if n := out.(*atomic.Int32).Add(1); n > 1 {
			t.Errorf("%d messages of key %s out together", n, key)
		}
		part := fmt.Sprint(info.Partition)
		l.start(part)
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		out.(*atomic.Int32).Add(-1)
		l.finish(part, key, fmt.Sprint(info.Offset, "@", part), seq)
		msg.Ack()
	})
	eventually(t, 60*time.Second, func() error {
		if n := l.distinct(); n < keys*perKey {
			return fmt.Errorf("%d of %d handled", n, keys*perKey)
		}
		return nil
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	checkKeyOrder(t, l.byKey, perKey)
	if most := slices.Max(slices.Collect(maps.Values(l.maxOut))); most < 2 {
		t.Errorf("at most %d message of a partition out at once (%v)", most, l.maxOut)
	}
	t.Logf("most messages of one partition out at once: %v", l.maxOut)
}

// TestKeyedSubscriberNackHoldsOnlyItsKey: one message out per partition;
// the first key's message is nacked once. While it waits for its backoff
// (two seconds, long beside handling ten messages), the other keys' messages
// are handed out and handled; then the same message comes again, and only
// after its ack the next message of its key.
func TestKeyedSubscriberNackHoldsOnlyItsKey(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "nack")
	createTopic(t, brokers, topic, 1)
	recs := []*kgo.Record{{Topic: topic, Key: []byte("bad"), Value: []byte("bad:0")}}
	want := []string{"bad:0"}
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "good-%d", i), Value: fmt.Appendf(nil, "good-%d:0", i)})
		want = append(want, fmt.Sprintf("good-%d:0", i))
	}
	recs = append(recs, &kgo.Record{Topic: topic, Key: []byte("bad"), Value: []byte("bad:1")})
	want = append(want, "bad:0", "bad:1")
	produce(t, producer(t, brokers), recs...)

	cfg := fastConfig(brokers, uniqueName(t, "nack-group"))
	cfg.MaxInFlightPerPartition = 1
	cfg.NackBackoff = 2 * time.Second
	sub := newKeyed(t, cfg)
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		order    []string
		badUUIDs = map[string]bool{}
	)
	handle(ch, func(msg *message.Message) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, string(msg.Payload))
		if string(msg.Payload) == "bad:0" {
			badUUIDs[msg.UUID] = true
			if len(badUUIDs) == 1 && len(order) == 1 {
				msg.Nack()
				return
			}
		}
		msg.Ack()
	})
	eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(order) < len(want) {
			return fmt.Errorf("handled %v", order)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, want) || len(badUUIDs) != 1 {
		t.Fatalf("handled %v (bad:0 with UUIDs %v), want %v", order, badUUIDs, want)
	}
}

// TestKeyedSubscriberCommitWaitsForGaps: acks of offsets 1 and 2 while 0 is
// out do not commit past 0, so a restart of the group gets 0, 1 and 2
// again; once 0 alone is acked, a restart gets 1 first.
func TestKeyedSubscriberCommitWaitsForGaps(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "gap")
	group := uniqueName(t, "gap-group")
	createTopic(t, brokers, topic, 1)
	produce(t, producer(t, brokers),
		&kgo.Record{Topic: topic, Key: []byte("a"), Value: []byte("0")},
		&kgo.Record{Topic: topic, Key: []byte("b"), Value: []byte("1")},
		&kgo.Record{Topic: topic, Key: []byte("c"), Value: []byte("2")})

	// round reads n messages at once (none acked before all are out), acks
	// those whose payload ack names, closes, and returns the payloads in
	// the order received.
	round := func(n int, ack ...string) []string {
		cfg := fastConfig(brokers, group)
		cfg.CloseTimeout = 200 * time.Millisecond
		sub, err := kafka.NewKeyedSubscriber(cfg, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		ch, err := sub.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var msgs []*message.Message
		for range n {
			msg := receive(t, ch, fmt.Sprintf("got %v, want %d messages out at once", got, n))
			got = append(got, string(msg.Payload))
			msgs = append(msgs, msg)
		}
		for _, msg := range msgs {
			if slices.Contains(ack, string(msg.Payload)) {
				msg.Ack()
			}
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := round(3, "1", "2"); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("first round %v", got)
	}
	if got := round(3, "0"); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("after acks of 1 and 2 only: %v, want 0, 1 and 2 again", got)
	}
	if got := round(2); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("after the ack of 0: %v, want 1 and 2", got)
	}
}

// TestKeyedSubscriberSequencedRunsAKeyAhead: one key's records, each
// sequenced and none acked: all of them are out at once, in offset order;
// acked newest first, the commit point still reaches the end, so a restart
// of the group gets only the record produced after.
func TestKeyedSubscriberSequencedRunsAKeyAhead(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "sequenced")
	group := uniqueName(t, "sequenced-group")
	createTopic(t, brokers, topic, 1)
	const n = 10
	cl := producer(t, brokers)
	produce(t, cl, keyedRecords(topic, 1, n)...)

	cfg := fastConfig(brokers, group)
	sub, err := kafka.NewKeyedSubscriber(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*message.Message
	for i := range n {
		msg := receive(t, ch, fmt.Sprintf("%d of %d messages out at once", i, n))
		if _, seq := parseValue(t, msg.Payload); seq != i {
			t.Fatalf("message %d has sequence %d", i, seq)
		}
		msgs = append(msgs, msg)
		kafka.Sequenced(msg.Context())
	}
	for _, msg := range slices.Backward(msgs) {
		msg.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}

	produce(t, cl, &kgo.Record{Topic: topic, Key: []byte("key-0"), Value: []byte("after")})
	next := newKeyed(t, cfg)
	ch, err = next.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	msg := receive(t, ch, "nothing after a restart")
	if string(msg.Payload) != "after" {
		t.Fatalf("after a restart: %s, want the record after the acked ones", msg.Payload)
	}
	msg.Ack()
}

// TestKeyedSubscriberCommitsOnRevoke: members join and leave a group while
// records are produced and handled; offsets are committed only on revoke
// and on close (CommitInterval is an hour). Each step waits until the
// group has settled (a new member handles records). No record is lost, each
// key's records are handled in order, and a record is handled twice only if
// its first delivery was abandoned at a revoke (its context canceled before
// its ack).
func TestKeyedSubscriberCommitsOnRevoke(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		steps []string // +n starts member n, -n closes it
	}{
		{"two members", []string{"+0", "+1", "-0"}},
		{"three members", []string{"+0", "+1", "+2", "-1", "+3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { revokeScenario(t, tc.steps) })
	}
}

func revokeScenario(t *testing.T, steps []string) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "revoke")
	group := uniqueName(t, "revoke-group")
	createTopic(t, brokers, topic, 6)
	const keys = 30

	l := newLedger()
	var abandonedMu sync.Mutex
	abandoned := map[string]bool{}
	members := map[string]*kafka.KeyedSubscriber{}
	handled := map[string]*atomic.Int64{}
	var done []*sync.WaitGroup
	start := func(name string) {
		cfg := fastConfig(brokers, group)
		cfg.CommitInterval = time.Hour // commits only on revoke and close
		cfg.MaxInFlightPerPartition = 4
		cfg.ClientID = "member-" + name
		sub := newKeyed(t, cfg)
		ch, err := sub.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		members[name] = sub
		count := new(atomic.Int64)
		handled[name] = count
		done = append(done, handle(ch, func(msg *message.Message) {
			info, _ := kafka.RecordFromContext(msg.Context())
			key, seq := parseValue(t, msg.Payload)
			part := fmt.Sprint(info.Partition)
			id := fmt.Sprint(info.Offset, "@", part)
			l.start(part)
			time.Sleep(time.Duration(1000+rand.IntN(4000)) * time.Microsecond)
			if msg.Context().Err() != nil {
				abandonedMu.Lock()
				abandoned[id] = true
				abandonedMu.Unlock()
			}
			l.finish(part, key, id, seq)
			count.Add(1)
			msg.Ack()
		}))
	}

	// Records go out in rounds (one per key) until the last step is done.
	prod := producer(t, brokers)
	stop := make(chan struct{})
	rounds := make(chan int, 1)
	go func() {
		n := 0
		defer func() { rounds <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := prod.ProduceSync(ctx, keyedRecords(topic, keys, n+1)[keys*n:]...).FirstErr()
			cancel()
			if err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()
	progress := func(what string, enough func() bool) {
		eventually(t, 60*time.Second, func() error {
			if !enough() {
				return fmt.Errorf("%s: %d handled", what, l.distinct())
			}
			return nil
		})
	}
	for _, step := range steps {
		name := step[1:]
		if step[0] == '+' {
			start(name)
			progress("member "+name+" handles records", func() bool { return handled[name].Load() >= 20 })
			continue
		}
		if err := members[name].Close(); err != nil {
			t.Errorf("close member %s: %v", name, err)
		}
		before := l.distinct()
		progress("after member "+name+" left", func() bool { return l.distinct() >= before+100 })
	}
	close(stop)
	n := <-rounds
	total := n * keys
	progress("every record", func() bool { return l.distinct() >= total })
	for _, s := range members {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
	for _, wg := range done {
		wg.Wait()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	checkKeyOrder(t, l.byKey, n)
	var dups []string
	for id, c := range l.seen {
		if c > 1 && !abandoned[id] {
			dups = append(dups, id)
		}
	}
	if len(dups) > 0 {
		slices.Sort(dups)
		t.Fatalf("%d records handled twice though acked before their revoke: %v", len(dups), dups[:min(len(dups), 20)])
	}
	counts := map[string]int64{}
	for name, c := range handled {
		counts[name] = c.Load()
	}
	t.Logf("%d records, handled per member %v, %d abandoned at a revoke", total, counts, len(abandoned))
}

// TestKeyedSubscriberRevokeAbandonsSlowMessages: a message still out when
// RevokeTimeout ends has its context canceled, its late ack is ignored, and
// the partition's next owner gets it again.
func TestKeyedSubscriberRevokeAbandonsSlowMessages(t *testing.T) {
	t.Parallel()
	for _, byConsumer := range []bool{false, true} {
		name := "acked"
		if byConsumer {
			name = "settled by consumer"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			revokeAbandonsSlowMessages(t, byConsumer)
		})
	}
}

// revokeAbandonsSlowMessages is TestKeyedSubscriberRevokeAbandonsSlowMessages
// with messages acked (Ack) or settled (Settle, SettledByConsumer).
func revokeAbandonsSlowMessages(t *testing.T, byConsumer bool) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "slow")
	group := uniqueName(t, "slow-group")
	createTopic(t, brokers, topic, 2)
	producePerPartition(t, brokers, topic)

	cfg := fastConfig(brokers, group)
	cfg.RevokeTimeout = 500 * time.Millisecond
	cfg.CloseTimeout = 500 * time.Millisecond
	cfg.ClientID = "first"
	cfg.SettledByConsumer = byConsumer
	first := newKeyed(t, cfg)
	ch, err := first.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var out, canceled sync.Map // partition → struct{}: received by the first member; its context canceled
	handle(ch, func(msg *message.Message) {
		info, _ := kafka.RecordFromContext(msg.Context())
		out.Store(info.Partition, true)
		select { // not done before its partition is given up
		case <-msg.Context().Done():
			canceled.Store(info.Partition, true)
		case <-time.After(20 * time.Second):
		}
		if byConsumer { // too late: ignored
			kafka.Settle(msg.Context(), true)
		} else {
			msg.Ack()
		}
	})
	eventually(t, 30*time.Second, func() error {
		for p := range int32(2) {
			if _, ok := out.Load(p); !ok {
				return fmt.Errorf("partition %d not out at the first member", p)
			}
		}
		return nil
	})

	cfg.ClientID = "second"
	second := newKeyed(t, cfg)
	ch2, err := second.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	msg := receive(t, ch2, "the second member got no message: an abandoned message's late ack was committed, or the partition never moved")
	info, _ := kafka.RecordFromContext(msg.Context())
	if _, ok := canceled.Load(info.Partition); !ok {
		t.Fatalf("partition %d moved without canceling the first member's message", info.Partition)
	}
	kafka.Settle(msg.Context(), true)
	msg.Ack()
}

// TestKeyedSubscriberSlowKeyHoldsBackOnlyItsPartition: a key whose first
// message does not finish piles up its partition's records; fetching of
// that partition pauses at MaxBufferedPerPartition, so the other partition's
// records keep coming though the buffer for all is small; once the key
// moves, its partition resumes.
func TestKeyedSubscriberSlowKeyHoldsBackOnlyItsPartition(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "pile")
	createTopic(t, brokers, topic, 2)
	manual, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer manual.Close()
	const n = 60
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: 0, Key: []byte("stuck"), Value: fmt.Appendf(nil, "%d", i)},
			&kgo.Record{Topic: topic, Partition: 1, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%d", i)})
	}
	produce(t, manual, recs...)

	cfg := fastConfig(brokers, uniqueName(t, "pile-group"))
	cfg.MaxBufferedRecords = 12
	cfg.MaxBufferedPerPartition = 8
	sub := newKeyed(t, cfg)
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var handled [2]atomic.Int32
	handle(ch, func(msg *message.Message) {
		info, _ := kafka.RecordFromContext(msg.Context())
		if info.Partition == 0 && info.Offset == 0 {
			<-release
		}
		handled[info.Partition].Add(1)
		msg.Ack()
	})
	eventually(t, 30*time.Second, func() error {
		if got := handled[1].Load(); got < n {
			return fmt.Errorf("partition 1: %d of %d handled while partition 0 is held", got, n)
		}
		return nil
	})
	close(release)
	eventually(t, 30*time.Second, func() error {
		if got := handled[0].Load(); got < n {
			return fmt.Errorf("partition 0: %d of %d handled after its key moved", got, n)
		}
		return nil
	})
}

// TestKeyedSubscriberPatternFollowsNewTopics: one Subscribe of "prefix*"
// carries the records of an existing topic and of one created after
// Subscribe, through one group member; a dead-letter topic that matches is
// not followed, and a topic past MaxPatternTopics is reported.
func TestKeyedSubscriberPatternFollowsNewTopics(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	prefix := uniqueName(t, "pat") + "-"
	group := uniqueName(t, "pat-group")
	createTopic(t, brokers, prefix+"a", 2)
	createTopic(t, brokers, prefix+"group.dlq", 2)
	prod := producer(t, brokers)
	produce(t, prod, &kgo.Record{Topic: prefix + "group.dlq", Value: []byte("dead letter")})

	cfg := fastConfig(brokers, group)
	cfg.MaxPatternTopics = 2
	var ignored atomic.Int32
	cfg.OnPatternTopicsIgnored = func(pattern string, n int) {
		if pattern == prefix+"*" {
			ignored.Store(int32(n))
		}
	}
	sub := newKeyed(t, cfg)
	ch, err := sub.Subscribe(context.Background(), prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan kafka.RecordInfo, 10)
	handle(ch, func(msg *message.Message) {
		info, _ := kafka.RecordFromContext(msg.Context())
		got <- info
		msg.Ack()
	})
	receive := func(topic string) {
		t.Helper()
		select {
		case info := <-got:
			if info.Topic != topic {
				t.Fatalf("record of %s, want %s", info.Topic, topic)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no record of %s", topic)
		}
	}
	produce(t, prod, &kgo.Record{Topic: prefix + "a", Value: []byte("a")})
	receive(prefix + "a")

	createTopic(t, brokers, prefix+"b", 2) // after Subscribe
	produce(t, prod, &kgo.Record{Topic: prefix + "b", Value: []byte("b")})
	receive(prefix + "b") // the dead-letter topic did not take the second place

	createTopic(t, brokers, prefix+"c", 2)
	eventually(t, 30*time.Second, func() error {
		if n := ignored.Load(); n != 1 {
			return fmt.Errorf("%d topics reported ignored, want 1", n)
		}
		return nil
	})
	members, err := groupMembers(brokers, group)
	if err != nil || members != 1 {
		t.Fatalf("group has %d members (%v), want one client for every topic", members, err)
	}
}

// groupMembers counts the members of group.
func groupMembers(brokers []string, group string) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if len(resp.Groups) != 1 {
		return 0, errors.New("group not described")
	}
	return len(resp.Groups[0].Members), nil
}

// TestKeyedSubscriberConnectsWithSASL: the subscriber authenticates with
// kafka.Security (SCRAM-SHA-512 here) and refuses nothing it should read.
func TestKeyedSubscriberConnectsWithSASL(t *testing.T) {
	t.Parallel()
	if externalKafka() != nil {
		t.Skip("the secure suite covers Apache Kafka's SASL listener")
	}
	sec := kafka.Security{SASL: kafka.SASL{Mechanism: kafka.MechanismSCRAMSHA512, User: "reelay", Password: "s3cret"}}
	e, err := kafka.StartEmbedded("127.0.0.1:0", t.TempDir(), kafka.WithSecurity(sec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	brokers := []string{e.Addr()}
	a, err := kafka.NewAdmin(brokers, 1, 1, kafka.WithSecurity(sec))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics("secure"); err != nil {
		t.Fatal(err)
	}
	pub, err := kafka.NewPublisher(brokers, kafka.WithSecurity(sec))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish("secure", message.NewMessage("0b6f4d8e-5d8a-4c61-9a0e-2a4b1f3c9d7e", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(brokers, "secure-group")
	cfg.Security = sec
	sub := newKeyed(t, cfg)
	ch, err := sub.Subscribe(context.Background(), "secure")
	if err != nil {
		t.Fatal(err)
	}
	msg := receive(t, ch, "no message over SASL")
	if msg.UUID != "0b6f4d8e-5d8a-4c61-9a0e-2a4b1f3c9d7e" {
		t.Fatalf("UUID %s", msg.UUID)
	}
	msg.Ack()
}

// TestKeyedSubscriberClosesOnceForEveryCaller: Close may be called from
// several goroutines and again; each call returns, channels are closed and
// Subscribe is refused after.
func TestKeyedSubscriberClosesOnceForEveryCaller(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	topic := uniqueName(t, "close")
	createTopic(t, brokers, topic, 1)
	sub, err := kafka.NewKeyedSubscriber(fastConfig(brokers, uniqueName(t, "close-group")), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := sub.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := <-ch; open {
		t.Fatal("channel open after Close")
	}
	if _, err := sub.Subscribe(context.Background(), topic); !errors.Is(err, kafka.ErrSubscriberClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
}
