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

// The group callbacks below run on franz-go's group goroutine, one at a
// time. BlockRebalanceOnPoll keeps them from running while the poll loop
// files a poll's records, so a revoked partition never receives records
// after its revoke, and an assigned one has its state before its first
// record arrives.

// assigned creates the state of newly assigned partitions; fetching them
// starts from the group's committed offset (the start of the log for a new
// group).
func (s *KeyedSubscriber) assigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	s.mu.Lock()
	for topic, ps := range assigned {
		for _, n := range ps {
			tp := topicPartition{topic, n}
			if _, ok := s.parts[tp]; ok {
				continue
			}
			p := &partition{tp: tp, committed: -1, revoking: make(chan struct{}), gone: make(chan struct{}),
				queue: newPartitionQueue(topic, n, s.cfg.MaxInFlightPerPartition, s.cfg.NackBackoff)}
			s.parts[tp] = p
			if sub := s.owners[topic]; sub != nil {
				p.sub = sub
				sub.parts = append(sub.parts, p)
				wake(sub)
			}
		}
	}
	s.mu.Unlock()
	if len(assigned) > 0 {
		member, generation := cl.GroupMetadata()
		s.logger.Info("kafka partitions assigned", "partitions", assigned, "member", member, "generation", generation)
	}
}

// revoked gives up partitions: they stop handing out messages and drop
// their queued records, their messages out get RevokeTimeout to be acked,
// their offsets are committed, and later acks are ignored.
func (s *KeyedSubscriber) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	s.mu.Lock()
	parts := s.find(revoked)
	for _, p := range parts {
		s.drain(p)
	}
	s.mu.Unlock()
	if len(parts) == 0 {
		return
	}
	finished := s.waitUntil(s.cfg.RevokeTimeout, func() bool {
		for _, p := range parts {
			if p.queue.inFlight > 0 {
				return false
			}
		}
		return true
	})
	err := s.commit(ctx, parts)
	s.remove(parts)
	member, generation := cl.GroupMetadata()
	log := s.logger.With("partitions", revoked, "member", member, "generation", generation)
	switch {
	case err != nil:
		log.Warn("kafka partitions revoked; commit failed, their next owner may repeat acked messages", "err", err)
	case !finished:
		log.Warn("kafka partitions revoked with messages not acked; their next owner sends them again", "waited", s.cfg.RevokeTimeout)
	default:
		log.Info("kafka partitions revoked")
	}
}

// lost drops partitions the member no longer owns (fenced, session
// expired): no commit, since another member may own them already.
func (s *KeyedSubscriber) lost(_ context.Context, cl *kgo.Client, lost map[string][]int32) {
	s.mu.Lock()
	parts := s.find(lost)
	s.mu.Unlock()
	s.remove(parts)
	if len(parts) > 0 {
		member, generation := cl.GroupMetadata()
		s.logger.Warn("kafka partitions lost; their messages not committed are delivered again",
			"partitions", lost, "member", member, "generation", generation)
	}
}

// find returns the states of tps. s.mu is held.
func (s *KeyedSubscriber) find(tps map[string][]int32) []*partition {
	var parts []*partition
	for topic, ps := range tps {
		for _, n := range ps {
			if p := s.parts[topicPartition{topic, n}]; p != nil && !p.removed {
				parts = append(parts, p)
			}
		}
	}
	return parts
}

// drain stops p handing out and drops its queued records. s.mu is held.
func (s *KeyedSubscriber) drain(p *partition) {
	if p.queue.draining {
		return
	}
	dropped, bytes := p.queue.drain()
	s.account(p, -dropped, -bytes)
	close(p.revoking)
	s.broadcast()
}

// remove forgets parts: acks of their messages are ignored from now on,
// and the contexts of those still out are canceled.
func (s *KeyedSubscriber) remove(parts []*partition) {
	var paused []*partition
	s.mu.Lock()
	for _, p := range parts {
		if p.removed {
			continue
		}
		s.drain(p)
		p.removed = true
		close(p.gone)
		if p.cancel != nil { // the contexts of its messages still out
			p.cancel()
			for _, cancel := range p.before {
				cancel()
			}
			p.before = nil
		}
		s.inFlight -= p.queue.inFlight
		s.account(p, -p.queue.held, -p.queue.heldBytes)
		delete(s.parts, p.tp)
		if p.sub != nil {
			p.sub.parts = removePart(p.sub.parts, p)
			p.sub = nil
		}
		if p.paused {
			paused = append(paused, p)
		}
	}
	for sub := range s.subs {
		wake(sub) // global room may have been freed
	}
	s.broadcast()
	s.mu.Unlock()
	s.applyPause(paused...) // resumes them: a pause would outlive the assignment
}

func removePart(parts []*partition, p *partition) []*partition {
	for i, q := range parts {
		if q == p {
			return append(parts[:i], parts[i+1:]...)
		}
	}
	return parts
}

// commitLoop commits the acked offsets of every partition each
// CommitInterval until Close.
func (s *KeyedSubscriber) commitLoop() {
	defer s.loops.Done()
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		s.mu.Lock()
		parts := s.allParts()
		s.mu.Unlock()
		if err := s.commit(s.pollCtx, parts); err != nil && s.pollCtx.Err() == nil {
			s.logger.Warn("kafka offset commit failed; retrying at the next interval", "err", err)
		}
	}
}

// commit commits, for each of parts, the offset after its acked prefix when
// that moved since the last commit, and waits for the answer.
func (s *KeyedSubscriber) commit(ctx context.Context, parts []*partition) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	offsets := map[string]map[int32]kgo.EpochOffset{}
	s.mu.Lock()
	for _, p := range parts {
		off, epoch, ok := p.queue.commitPoint()
		if p.removed || !ok || off <= p.committed {
			continue
		}
		if offsets[p.tp.topic] == nil {
			offsets[p.tp.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[p.tp.topic][p.tp.partition] = kgo.EpochOffset{Epoch: epoch, Offset: off}
	}
	s.mu.Unlock()
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommitTimeout)
	defer cancel()
	var errs []error
	s.client.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			errs = append(errs, err)
			clear(offsets)
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					errs = append(errs, fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err))
					delete(offsets[t.Topic], p.Partition)
				}
			}
		}
	})
	s.mu.Lock()
	for topic, ps := range offsets {
		for n, eo := range ps {
			if p := s.parts[topicPartition{topic, n}]; p != nil && eo.Offset > p.committed {
				p.committed = eo.Offset
			}
		}
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}
