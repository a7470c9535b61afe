package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// poll fetches records into their partitions' queues until Close. A
// partition that holds MaxBufferedPerPartition records (or
// MaxBufferedBytesPerPartition bytes) not yet acked is paused until it holds
// half as many; the partitions not paused hold at most MaxBufferedRecords
// records and about MaxBufferedBytes bytes together. So a slow key holds
// back its own partition only, and a paused partition holds at most about
// twice its bounds (one poll returns at most MaxBufferedPerPartition
// records, and at most half MaxBufferedBytesPerPartition of a partition, or
// one record).
func (s *KeyedSubscriber) poll() {
	defer s.loops.Done()
	for {
		room, ok := s.room()
		if !ok {
			return
		}
		fetches := s.client.PollRecords(s.pollCtx, min(room, s.cfg.MaxBufferedPerPartition))
		if s.pollCtx.Err() != nil || fetches.IsClientClosed() {
			s.client.AllowRebalance()
			return
		}
		failed := false
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			failed = true
			s.logger.Warn("kafka fetch failed", "topic", topic, "partition", partition, "err", err)
		})
		s.applyPause(s.file(fetches)...)
		s.client.AllowRebalance()
		if failed && fetches.NumRecords() == 0 {
			select { // a persistent error must not spin the loop
			case <-time.After(500 * time.Millisecond):
			case <-s.pollCtx.Done():
			}
		}
	}
}

// room waits until the partitions not paused hold fewer than
// MaxBufferedRecords records and MaxBufferedBytes bytes, and returns how
// many more records they may; ok is false once Close began.
func (s *KeyedSubscriber) room() (int, bool) {
	for {
		s.mu.Lock()
		room := s.cfg.MaxBufferedRecords - s.buffered
		if room > 0 && s.bufferedBytes < s.cfg.MaxBufferedBytes {
			s.mu.Unlock()
			return room, true
		}
		changed := s.changes()
		s.mu.Unlock()
		select {
		case <-changed:
		case <-s.pollCtx.Done():
			return 0, false
		}
	}
}

// file queues a poll's records and wakes their subscriptions; it returns
// the partitions it marked paused.
func (s *KeyedSubscriber) file(fetches kgo.Fetches) []*partition {
	var paused []*partition
	s.mu.Lock()
	defer s.mu.Unlock()
	fetches.EachRecord(func(rec *kgo.Record) {
		p := s.parts[topicPartition{rec.Topic, rec.Partition}]
		if p == nil || p.removed || !p.queue.add(rec) {
			return
		}
		s.account(p, 1, recordSize(rec))
		if p.sub != nil {
			wake(p.sub)
		}
		if !p.paused && (p.queue.held >= s.cfg.MaxBufferedPerPartition || p.queue.heldBytes >= s.cfg.MaxBufferedBytesPerPartition) {
			p.paused = true
			s.buffered -= p.queue.held
			s.bufferedBytes -= p.queue.heldBytes
			paused = append(paused, p)
		}
	})
	return paused
}

// account counts records more records (of bytes bytes) held by p. s.mu
// is held.
func (s *KeyedSubscriber) account(p *partition, records int, bytes int64) {
	if !p.paused {
		s.buffered += records
		s.bufferedBytes += bytes
	}
}

// resumable says whether paused partition p holds at most half its bounds.
// s.mu is held.
func (s *KeyedSubscriber) resumable(p *partition) bool {
	return p.queue.held <= s.cfg.MaxBufferedPerPartition/2 && p.queue.heldBytes <= s.cfg.MaxBufferedBytesPerPartition/2
}

// applyPause makes the client fetch or not fetch each of parts as its
// paused flag (and removal) says now. Calls are serialized and read the
// flags when they run, so that a pause and a resume decided close together
// cannot reach the client in the wrong order.
func (s *KeyedSubscriber) applyPause(parts ...*partition) {
	if len(parts) == 0 {
		return
	}
	s.pauseMu.Lock()
	defer s.pauseMu.Unlock()
	pause, resume := map[string][]int32{}, map[string][]int32{}
	s.mu.Lock()
	for _, p := range parts {
		if p.paused && !p.removed {
			pause[p.tp.topic] = append(pause[p.tp.topic], p.tp.partition)
		} else {
			resume[p.tp.topic] = append(resume[p.tp.topic], p.tp.partition)
		}
	}
	s.mu.Unlock()
	if len(pause) > 0 {
		s.client.PauseFetchPartitions(pause)
	}
	if len(resume) > 0 {
		s.client.ResumeFetchPartitions(resume)
	}
}
