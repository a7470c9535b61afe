package kafka

import (
	"container/heap"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partitionQueue schedules the records of one partition and tracks the
// offset the partition may commit. It does no I/O and takes no lock: the
// KeyedSubscriber calls it under its own.
//
// Order: records are grouped into lanes by key; records without a key
// (null key) share one lane of their own. A lane hands out one record at a
// time, in offset order, and its next record only once that one is acked:
// two records of one key are never out together. Records of different lanes
// are out together, up to maxInFlight. Among the lanes that may hand out a
// record, the one whose record has the lowest offset goes first, so that the
// commit offset moves as early as it can.
//
// Nack: a nacked record stays at the head of its lane and is handed out
// again after the backoff; the lane waits, the other lanes go on.
//
// Commit: the commit offset is the offset after the longest prefix of
// acked records: an ack above an unacked record (a gap) waits for the gap.
type partitionQueue struct {
	topic       string
	partition   int32
	maxInFlight int
	backoff     time.Duration

	lanes   map[laneKey]*lane
	ready   laneHeap // lanes whose head may be handed out, lowest head offset first
	waiting []*lane  // nacked lanes, until their retryAt

	// window holds the offsets added and not yet part of the acked prefix,
	// ascending, from index first on.
	window []windowEntry
	first  int
	// nextOffset is the offset after the last record added (-1 before the first):
	// a record below it was already added and is dropped as a duplicate.
	nextOffset int64
	// commitOffset and commitEpoch are the offset after the acked prefix and
	// the leader epoch of its last record; committable says the prefix is
	// not empty.
	commitOffset int64
	commitEpoch  int32
	committable  bool

	inFlight int  // records handed out, not yet acked or nacked
	held     int  // records queued or in flight
	draining bool // no record is handed out any more; queued ones are dropped
}

// laneKey tells a record's lane: its key, or the null-key lane.
type laneKey struct {
	key  string
	null bool
}

func laneOf(rec *kgo.Record) laneKey {
	if rec.Key == nil {
		return laneKey{null: true}
	}
	return laneKey{key: string(rec.Key)}
}

// lane is the queue of one key's records.
type lane struct {
	key     laneKey
	records []*kgo.Record // in offset order; records[0] is out while busy
	busy    bool
	retryAt time.Time
}

type windowEntry struct {
	offset int64
	epoch  int32
	acked  bool
}

func newPartitionQueue(topic string, partition int32, maxInFlight int, backoff time.Duration) *partitionQueue {
	return &partitionQueue{topic: topic, partition: partition, maxInFlight: maxInFlight, backoff: backoff,
		lanes: map[laneKey]*lane{}, nextOffset: -1}
}

// add queues rec behind the records of its key. It returns false, and drops
// rec, when rec's offset is not above every offset added before (a record
// fetched twice), or when the queue is draining.
func (q *partitionQueue) add(rec *kgo.Record) bool {
	if q.draining || rec.Offset < q.nextOffset {
		return false
	}
	q.nextOffset = rec.Offset + 1
	q.window = append(q.window, windowEntry{offset: rec.Offset, epoch: rec.LeaderEpoch})
	q.held++
	k := laneOf(rec)
	l := q.lanes[k]
	if l == nil {
		l = &lane{key: k}
		q.lanes[k] = l
	}
	l.records = append(l.records, rec)
	if len(l.records) == 1 && !l.busy && l.retryAt.IsZero() {
		heap.Push(&q.ready, l)
	}
	return true
}

// next hands out the record to process next, or nil when every lane with a
// record is busy or waiting, maxInFlight records are out, or the queue is
// draining. now releases the nacked lanes whose backoff is over.
func (q *partitionQueue) next(now time.Time) *kgo.Record {
	if q.draining || q.inFlight >= q.maxInFlight {
		return nil
	}
	q.release(now)
	if q.ready.Len() == 0 {
		return nil
	}
	l := heap.Pop(&q.ready).(*lane)
	l.busy = true
	q.inFlight++
	return l.records[0]
}

// release moves the waiting lanes whose retryAt is not after now to ready.
func (q *partitionQueue) release(now time.Time) {
	kept := q.waiting[:0]
	for _, l := range q.waiting {
		if l.retryAt.After(now) {
			kept = append(kept, l)
			continue
		}
		l.retryAt = time.Time{}
		heap.Push(&q.ready, l)
	}
	clear(q.waiting[len(kept):])
	q.waiting = kept
}

// nextRetry is when the earliest nacked lane may hand out again; ok is
// false when no lane waits.
func (q *partitionQueue) nextRetry() (at time.Time, ok bool) {
	for _, l := range q.waiting {
		if !ok || l.retryAt.Before(at) {
			at, ok = l.retryAt, true
		}
	}
	return at, ok
}

// out returns rec's lane when rec is the record it has out.
func (q *partitionQueue) out(rec *kgo.Record) *lane {
	l := q.lanes[laneOf(rec)]
	if l == nil || !l.busy || l.records[0] != rec {
		return nil
	}
	return l
}

// ack marks rec, which next handed out, as done: its lane hands out its next
// record, and the commit offset moves past rec once every record below it is
// acked. It returns false (and changes nothing) for a record that is not out.
func (q *partitionQueue) ack(rec *kgo.Record) bool {
	l := q.out(rec)
	if l == nil {
		return false
	}
	q.popHead(l)
	q.markAcked(rec.Offset)
	return true
}

// nack puts rec, which next handed out, back at the head of its lane, to be
// handed out again after the backoff; its lane waits until then. It returns
// false for a record that is not out.
func (q *partitionQueue) nack(rec *kgo.Record, now time.Time) bool {
	return q.retry(rec, now.Add(q.backoff))
}

// retry is nack with the time the lane may hand out again.
func (q *partitionQueue) retry(rec *kgo.Record, at time.Time) bool {
	l := q.out(rec)
	if l == nil {
		return false
	}
	if q.draining {
		q.popHead(l) // not redelivered here: the partition's next owner reads it again
		return true
	}
	l.busy = false
	q.inFlight--
	l.retryAt = at
	q.waiting = append(q.waiting, l)
	return true
}

// popHead removes the record lane l has out.
func (q *partitionQueue) popHead(l *lane) {
	l.records[0] = nil
	l.records = l.records[1:]
	l.busy = false
	q.inFlight--
	q.held--
	switch {
	case len(l.records) == 0:
		delete(q.lanes, l.key)
	case !q.draining:
		heap.Push(&q.ready, l)
	}
}

// markAcked adds offset to the acked records and moves the commit offset
// over the acked prefix.
func (q *partitionQueue) markAcked(offset int64) {
	w := q.window[q.first:]
	i := sort.Search(len(w), func(i int) bool { return w[i].offset >= offset })
	if i == len(w) || w[i].offset != offset {
		return
	}
	w[i].acked = true
	for q.first < len(q.window) && q.window[q.first].acked {
		e := q.window[q.first]
		q.commitOffset, q.commitEpoch, q.committable = e.offset+1, e.epoch, true
		q.first++
	}
	switch {
	case q.first == len(q.window):
		q.window, q.first = q.window[:0], 0
	case q.first > 1024 && q.first > len(q.window)/2:
		q.window = append(q.window[:0], q.window[q.first:]...)
		q.first = 0
	}
}

// commitPoint is the offset to commit (the offset after the acked prefix)
// and the leader epoch of the record before it; ok is false while no record
// has been acked in order.
func (q *partitionQueue) commitPoint() (offset int64, epoch int32, ok bool) {
	return q.commitOffset, q.commitEpoch, q.committable
}

// drain stops handing out records and drops the queued ones, for a revoke
// or close: records out may still be acked (and move the commit offset),
// a nacked one is dropped. It returns the number of records dropped.
func (q *partitionQueue) drain() int {
	q.draining = true
	dropped := 0
	for k, l := range q.lanes {
		keep := 0
		if l.busy {
			keep = 1
		}
		dropped += len(l.records) - keep
		clear(l.records[keep:])
		l.records = l.records[:keep]
		if keep == 0 {
			delete(q.lanes, k)
		}
	}
	q.held -= dropped
	clear(q.ready)
	q.ready = q.ready[:0]
	q.waiting = nil
	return dropped
}

// laneHeap orders lanes by the offset of their head record.
type laneHeap []*lane

func (h laneHeap) Len() int           { return len(h) }
func (h laneHeap) Less(i, j int) bool { return h[i].records[0].Offset < h[j].records[0].Offset }
func (h laneHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *laneHeap) Push(x any)        { *h = append(*h, x.(*lane)) }
func (h *laneHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return l
}
