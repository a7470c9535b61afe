package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handing out: each subscription has a sender goroutine that takes the next
// record its partitions may hand out (partitionQueue.next, round the
// partitions, within MaxInFlight), sends it as a message, and starts an
// await goroutine that settles the record when the message is acked or
// nacked; with SettledByConsumer, the consumer settles it with Settle
// instead. Settling frees the record's key and a slot, and wakes the
// sender.

// delivery is a record handed out and not yet settled.
type delivery struct {
	part *partition
	rec  *kgo.Record
	ctx  context.Context // its partition's (partition.ctx), the message context's parent
}

// send hands out sub's messages until the subscription ends, then closes
// its channel.
func (s *KeyedSubscriber) send(sub *subscription) {
	defer s.loops.Done()
	defer close(sub.out)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		ds, retryAt := s.take(sub)
		if ds == nil {
			var retry <-chan time.Time
			if !retryAt.IsZero() {
				timer.Reset(time.Until(retryAt))
				retry = timer.C
			}
			select {
			case <-sub.wake:
			case <-retry:
			case <-sub.done:
				return
			}
			timer.Stop()
			continue
		}
		msg, cancel := s.message(ds)
		select {
		case sub.out <- msg:
			if !s.cfg.SettledByConsumer { // then MaxRun is 1
				s.awaits.Add(1)
				go s.await(ds[0], msg, cancel)
			}
		case <-ds[0].part.revoking:
			cancel()
			s.giveBack(ds)
		case <-sub.done:
			cancel()
			s.giveBack(ds)
			return
		}
	}
}

// giveBack settles deliveries never received: they are sent again at once.
func (s *KeyedSubscriber) giveBack(ds []delivery) {
	for _, d := range ds {
		s.settle(d, giveBack)
	}
}

// take picks sub's next run of records (one unless MaxRun is above 1),
// going round its partitions; when none may go now, it returns the
// earliest time a nacked one may.
func (s *KeyedSubscriber) take(sub *subscription) ([]delivery, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight >= s.cfg.MaxInFlight {
		return nil, time.Time{}
	}
	now := time.Now()
	var retryAt time.Time
	n := len(sub.parts)
	for i := range n {
		p := sub.parts[(sub.rr+i)%n]
		if recs := p.queue.nextRun(now, min(s.cfg.MaxRun, s.cfg.MaxInFlight-s.inFlight)); recs != nil {
			sub.rr = (sub.rr + i + 1) % n
			s.inFlight += len(recs)
			if p.ctxOf != sub {
				p.newContext(sub)
			}
			ds := make([]delivery, len(recs))
			for j, rec := range recs {
				ds[j] = delivery{part: p, rec: rec, ctx: p.ctx}
			}
			return ds, time.Time{}
		}
		if at, ok := p.queue.nextRetry(); ok && (retryAt.IsZero() || at.Before(retryAt)) {
			retryAt = at
		}
	}
	return nil, retryAt
}

// message builds the message of a delivery, or of a run of them (RunOf),
// its context derived from its partition's.
func (s *KeyedSubscriber) message(ds []delivery) (*message.Message, context.CancelFunc) {
	if len(ds) == 1 {
		return s.recordMessage(ds[0])
	}
	run := &runContext{Context: ds[0].ctx, msgs: make([]*message.Message, len(ds))}
	cancels := make([]context.CancelFunc, len(ds))
	for i, d := range ds {
		run.msgs[i], cancels[i] = s.recordMessage(d)
	}
	first, last := ds[0].rec, ds[len(ds)-1].rec
	msg := message.NewMessage(fmt.Sprintf("run/%s/%d/%d-%d", first.Topic, first.Partition, first.Offset, last.Offset), nil)
	msg.SetContext(run)
	return msg, func() {
		for _, c := range cancels {
			c()
		}
	}
}

// recordMessage builds the message of d's record, its context derived
// from its partition's.
func (s *KeyedSubscriber) recordMessage(d delivery) (*message.Message, context.CancelFunc) {
	msg, _ := s.marshaler.UnmarshalRecord(d.rec) // never fails
	dc := newDeliveryContext(d.ctx, s, d)
	mctx, cancel := context.WithCancel(dc)
	dc.settler.cancel = cancel
	msg.SetContext(mctx)
	return msg, cancel
}

// runContext is the context of a run's message: its partition's, carrying
// the messages of the run's records.
type runContext struct {
	context.Context
	msgs []*message.Message
}

type runKey struct{}

func (c *runContext) Value(key any) any {
	if _, ok := key.(runKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// RunOf returns the messages of the records a run's message carries, in
// the order they were handed out, when ctx is the context of such a
// message (KeyedSubscriberConfig.MaxRun); ok is false for any other. Each
// is a message like those handed out one by one, settled with Settle on
// its own context; a key's records in a run follow each other in offset
// order, and no later record of the key is handed out until the run's last
// one of it is settled or sequenced. Settle on the run's context settles
// each record not settled yet.
func RunOf(ctx context.Context) ([]*message.Message, bool) {
	run, ok := ctx.Value(runKey{}).(*runContext)
	if !ok {
		return nil, false
	}
	return run.msgs, true
}

// settler settles a delivery once, for Settle.
type settler struct {
	cancel context.CancelFunc // the message context's
	once   sync.Once
}

type settlerKey struct{}

// Settle reports the outcome of the message whose context ctx is, for a
// KeyedSubscriber with SettledByConsumer: with ack, its offset may be
// committed and its key's next record handed out; without, it is handed
// out again after NackBackoff. Either way its context ends. Only the first
// call counts. On a run's message (RunOf) it settles each of its records
// not settled yet. It does nothing for a context the KeyedSubscriber did
// not make, or without SettledByConsumer (Ack and Nack settle then).
func Settle(ctx context.Context, ack bool) {
	o := nacked
	if ack {
		o = acked
	}
	if dc, ok := ctx.Value(settlerKey{}).(*deliveryContext); ok {
		if dc.seq.s.cfg.SettledByConsumer {
			dc.settler.once.Do(func() {
				dc.seq.s.settle(dc.seq.d, o)
				dc.settler.cancel()
			})
		}
		return
	}
	if run, ok := ctx.Value(runKey{}).(*runContext); ok {
		run.settle(o)
	}
}

// settle settles the run's records not settled yet, under one lock. A
// record's once is claimed before the lock is taken, as Settle on the
// record takes it inside its once: never the other way round.
func (c *runContext) settle(o outcome) {
	var claimed []*deliveryContext
	for _, m := range c.msgs {
		if dc, ok := m.Context().Value(settlerKey{}).(*deliveryContext); ok {
			dc.settler.once.Do(func() { claimed = append(claimed, dc) })
		}
	}
	if len(claimed) == 0 {
		return
	}
	s := claimed[0].seq.s
	var resume []*partition
	s.mu.Lock()
	for _, dc := range claimed {
		if s.settleLocked(dc.seq.d, o) {
			resume = append(resume, dc.seq.d.part)
		}
	}
	s.mu.Unlock()
	for _, dc := range claimed {
		dc.settler.cancel()
	}
	s.applyPause(resume...)
}

// sequencer lets the consumer of a delivery say it was sequenced.
type sequencer struct {
	s    *KeyedSubscriber
	d    delivery
	once sync.Once
}

type sequencerKey struct{}

// Sequenced tells the KeyedSubscriber that the message whose context ctx is
// has been put in line to be applied before any later record of its key:
// the subscriber may then hand out the key's next record while this one is
// still out. A consumer that calls it takes over order per key: it must
// apply the key's records in the order it receives them and should nack
// the records of a key behind one it nacks. Batch routes call it once an
// event has joined a batch (batches of a type are applied one after the
// other). On a run's message (RunOf) it sequences each of its records. It
// does nothing for a context the KeyedSubscriber did not make, and after
// the first call.
func Sequenced(ctx context.Context) {
	if sq, ok := ctx.Value(sequencerKey{}).(*sequencer); ok {
		sq.once.Do(func() { sq.s.sequenced(sq.d) })
		return
	}
	if run, ok := ctx.Value(runKey{}).(*runContext); ok {
		run.sequenced()
	}
}

// sequenced sequences the run's records, under one lock, claiming each
// record's once first (see settle).
func (c *runContext) sequenced() {
	var claimed []*sequencer
	for _, m := range c.msgs {
		if sq, ok := m.Context().Value(sequencerKey{}).(*sequencer); ok {
			sq.once.Do(func() { claimed = append(claimed, sq) })
		}
	}
	if len(claimed) == 0 {
		return
	}
	s := claimed[0].s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sq := range claimed {
		s.sequencedLocked(sq.d)
	}
}

// sequenced lets d's lane hand out its next record.
func (s *KeyedSubscriber) sequenced(d delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sequencedLocked(d)
}

// sequencedLocked is sequenced with s.mu held.
func (s *KeyedSubscriber) sequencedLocked(d delivery) {
	if d.part.removed || !d.part.queue.sequenced(d.rec) {
		return
	}
	if d.part.sub != nil {
		wake(d.part.sub)
	}
}

// await settles a message once it is acked or nacked; it stops waiting when
// the partition is given up.
func (s *KeyedSubscriber) await(d delivery, msg *message.Message, cancel context.CancelFunc) {
	defer s.awaits.Done()
	defer cancel()
	select {
	case <-msg.Acked():
		s.settle(d, acked)
	case <-msg.Nacked():
		s.settle(d, nacked)
	case <-d.part.gone:
	}
}

type outcome int

const (
	acked    outcome = iota
	nacked           // sent again after NackBackoff
	giveBack         // never received: sent again at once
)

// settle records what became of a delivery. A delivery of a partition given
// up changes nothing.
func (s *KeyedSubscriber) settle(d delivery, o outcome) {
	s.mu.Lock()
	resume := s.settleLocked(d, o)
	s.mu.Unlock()
	if resume {
		s.applyPause(d.part)
	}
}

// settleLocked is settle with s.mu held; it reports whether d's partition
// is to be resumed (applyPause, once s.mu is released).
func (s *KeyedSubscriber) settleLocked(d delivery, o outcome) (resume bool) {
	q := d.part.queue
	if d.part.removed {
		return false
	}
	held, heldBytes := q.held, q.heldBytes
	now := time.Now()
	var ok bool
	switch o {
	case acked:
		ok = q.ack(d.rec)
	case nacked:
		ok = q.nack(d.rec, now)
	case giveBack:
		ok = q.retry(d.rec, now)
	}
	if !ok {
		return false
	}
	if s.inFlight >= s.cfg.MaxInFlight {
		for sub := range s.subs {
			wake(sub)
		}
	}
	s.inFlight--
	s.account(d.part, q.held-held, q.heldBytes-heldBytes)
	resume = d.part.paused && s.resumable(d.part)
	if resume {
		d.part.paused = false
		s.buffered += q.held
		s.bufferedBytes += q.heldBytes
	}
	if d.part.sub != nil {
		wake(d.part.sub)
	}
	s.broadcast()
	return resume
}

// broadcast wakes whoever waits for inFlight or buffered to go down. s.mu
// is held.
func (s *KeyedSubscriber) broadcast() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// changes returns the channel broadcast closes, made when first waited on
// (most settles have nobody waiting). s.mu is held.
func (s *KeyedSubscriber) changes() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

func wake(sub *subscription) {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// waitUntil waits until done reports true (checked under s.mu) or timeout
// passes; it reports whether done.
func (s *KeyedSubscriber) waitUntil(timeout time.Duration, done func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if done() {
			s.mu.Unlock()
			return true
		}
		changed := s.changes()
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}
