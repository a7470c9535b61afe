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
// (null key) share one lane of their own. A lane hands out its records in
// offset order, and its next record only once the one it handed out last is
// settled (acked or nacked) or sequenced: sequenced says the consumer has
// put the record in line to be applied before any later record of its key
// (Sequenced, used by batch routes), so the key's next record may go while
// that one is still out. Without sequencing two records of one key are
// never out together. Records of different lanes are out together, up to
// maxInFlight. Among the lanes that may hand out a record, the one whose
// next record has the lowest offset goes first, so that the commit offset
// moves as early as it can.
//
// Nack: a nacked record stays in its lane and is handed out again, with
// every record of the lane behind it, after the backoff and once no record
// of the lane is out any more; the lane waits, the other lanes go on.
//
// Commit: the commit offset is the offset after the longest prefix of
// acked records: an ack above an unacked record (a gap) waits for the gap.
type partitionQueue struct {
	topic       string
	partition   int32
	maxInFlight int
	backoff     time.Duration

	lanes   map[laneKey]*lane
	ready   laneHeap // lanes that may hand out a record, lowest next offset first (and stale items)
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

	inFlight  int   // records handed out, not yet acked or nacked
	held      int   // records queued or in flight
	heldBytes int64 // their sizes (recordSize)
	draining  bool  // no record is handed out any more; queued ones are dropped
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

// lane is the queue of one key's records not yet acked, in offset order:
// first those handed out (out, nacked, or acked behind one still out),
// then those queued. An acked record leaves the lane once every record
// before it has: popping the first entry is O(1), and an ack never shifts
// the lane's queued records.
type lane struct {
	key     laneKey
	entries []laneEntry
	out     int         // entries handed out and not settled
	nacked  int         // entries nacked, waiting for the lane's redelivery
	gone    int         // entries acked (or dropped) behind one still out
	last    *kgo.Record // the record handed out last, while it is out and not sequenced
	retryAt time.Time
	inHeap  bool   // the lane has a valid item in the ready heap
	gen     uint64 // items of older generations are stale
}

type laneEntry struct {
	rec    *kgo.Record
	out    bool
	nacked bool
	gone   bool // acked or dropped; it leaves with the entries before it
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

// queued is the position of the lane's next record to hand out.
func (l *lane) queued() int { return l.out + l.nacked + l.gone }

// remove takes the entry at i, one handed out, out of the lane.
func (l *lane) remove(i int) {
	l.entries[i] = laneEntry{gone: true}
	l.gone++
	for len(l.entries) > 0 && l.entries[0].gone {
		l.entries[0] = laneEntry{} // no reference to the record is kept
		l.entries = l.entries[1:]
		l.gone--
	}
}

// compact drops the gone entries, for a lane that hands out again from its
// first record.
func (l *lane) compact() {
	if l.gone == 0 {
		return
	}
	kept := l.entries[:0]
	for _, e := range l.entries {
		if !e.gone {
			kept = append(kept, e)
		}
	}
	clear(l.entries[len(kept):])
	l.entries, l.gone = kept, 0
}

// canHandOut says whether the lane may hand out its next record now.
func (l *lane) canHandOut() bool {
	return l.nacked == 0 && l.retryAt.IsZero() && l.last == nil && l.queued() < len(l.entries)
}

// offer puts l among the ready lanes when it may hand out.
func (q *partitionQueue) offer(l *lane) {
	if !q.draining && !l.inHeap && l.canHandOut() {
		l.inHeap = true
		heap.Push(&q.ready, readyItem{l: l, off: l.entries[l.queued()].rec.Offset, gen: l.gen})
	}
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
	q.heldBytes += recordSize(rec)
	k := laneOf(rec)
	l := q.lanes[k]
	if l == nil {
		l = &lane{key: k}
		q.lanes[k] = l
	}
	l.entries = append(l.entries, laneEntry{rec: rec})
	q.offer(l)
	return true
}

// next hands out the record to process next, or nil when no lane may hand
// out, maxInFlight records are out, or the queue is draining. now releases
// the nacked lanes whose backoff is over.
func (q *partitionQueue) next(now time.Time) *kgo.Record {
	if q.draining || q.inFlight >= q.maxInFlight {
		return nil
	}
	q.release(now)
	for q.ready.Len() > 0 {
		it := heap.Pop(&q.ready).(readyItem)
		l := it.l
		if it.gen != l.gen || !l.inHeap {
			continue // stale: the lane was reset after it was offered
		}
		l.inHeap = false
		if !l.canHandOut() {
			continue // a nack came after the lane was offered
		}
		return q.handOut(l)
	}
	return nil
}

// handOut hands out lane l's next queued record.
func (q *partitionQueue) handOut(l *lane) *kgo.Record {
	e := &l.entries[l.queued()]
	e.out = true
	l.out++
	l.last = e.rec
	q.inFlight++
	return e.rec
}

// nextRun hands out up to max records to process together, in one message
// (a run): what next would hand out one after the other, except that a
// lane's queued records follow its first at once, in offset order, as if
// each were sequenced, so a hot key makes long runs too. The records of a
// lane in a run are one stretch of it, and the lane hands out nothing more
// until the last of them is sequenced or settled; so a consumer that
// applies each lane's records of a run in run order, before any later
// record of their key, keeps order per key. nil when next would return nil.
func (q *partitionQueue) nextRun(now time.Time, max int) []*kgo.Record {
	rec := q.next(now)
	if rec == nil {
		return nil
	}
	run := []*kgo.Record{rec}
	for len(run) < max && q.inFlight < q.maxInFlight {
		if l := q.lanes[laneOf(rec)]; l.nacked == 0 && l.retryAt.IsZero() && l.queued() < len(l.entries) {
			rec = q.handOut(l)
		} else if rec = q.next(now); rec == nil {
			break
		}
		run = append(run, rec)
	}
	return run
}

// release makes the waiting lanes whose retryAt is not after now ready.
func (q *partitionQueue) release(now time.Time) {
	kept := q.waiting[:0]
	for _, l := range q.waiting {
		if l.retryAt.After(now) {
			kept = append(kept, l)
			continue
		}
		l.retryAt = time.Time{}
		q.offer(l)
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

// out returns rec's lane and position when rec is out.
func (q *partitionQueue) out(rec *kgo.Record) (*lane, int) {
	l := q.lanes[laneOf(rec)]
	if l == nil {
		return nil, -1
	}
	for i := range l.queued() {
		if e := l.entries[i]; e.rec == rec && e.out {
			return l, i
		}
	}
	return nil, -1
}

// sequenced lets rec's lane hand out its next record while rec is out. It
// returns false (and changes nothing) when rec is not the record its lane
// handed out last, or is no longer out.
func (q *partitionQueue) sequenced(rec *kgo.Record) bool {
	l := q.lanes[laneOf(rec)]
	if l == nil || l.last != rec {
		return false
	}
	l.last = nil
	q.offer(l)
	return true
}

// ack marks rec, which next handed out, as done: its lane may hand out its
// next record, and the commit offset moves past rec once every record below
// it is acked. It returns false (and changes nothing) for a record that is
// not out.
func (q *partitionQueue) ack(rec *kgo.Record) bool {
	l, i := q.out(rec)
	if l == nil {
		return false
	}
	l.remove(i)
	l.out--
	q.inFlight--
	q.held--
	q.heldBytes -= recordSize(rec)
	q.settled(l, rec)
	q.markAcked(rec.Offset)
	return true
}

// nack marks rec, which next handed out, to be handed out again, with the
// records of its lane behind it, after the backoff; its lane waits until
// then. It returns false for a record that is not out.
func (q *partitionQueue) nack(rec *kgo.Record, now time.Time) bool {
	return q.retry(rec, now.Add(q.backoff))
}

// retry is nack with the time the lane may hand out again.
func (q *partitionQueue) retry(rec *kgo.Record, at time.Time) bool {
	l, i := q.out(rec)
	if l == nil {
		return false
	}
	l.out--
	q.inFlight--
	if q.draining {
		// Not redelivered here: the partition's next owner reads it again.
		l.remove(i)
		q.held--
		q.heldBytes -= recordSize(rec)
		q.settled(l, rec)
		return true
	}
	l.entries[i].out, l.entries[i].nacked = false, true
	l.nacked++
	if !l.retryAt.After(at) {
		l.retryAt = at
	}
	q.settled(l, rec)
	return true
}

// settled updates lane l after rec, one of its records out, was acked or
// nacked: once nothing of a lane with a nacked record is out, the lane
// hands out again from its first record after its retryAt.
func (q *partitionQueue) settled(l *lane, rec *kgo.Record) {
	if l.last == rec {
		l.last = nil
	}
	if l.out == 0 && l.nacked > 0 {
		l.gen++ // its next record changes: an item in the ready heap is stale
		l.inHeap = false
		l.compact() // the nacked entries come first
		for i := range l.nacked {
			l.entries[i].nacked = false
		}
		l.nacked = 0
		q.waiting = append(q.waiting, l)
		return
	}
	if len(l.entries) == 0 {
		delete(q.lanes, l.key) // nothing queued: not in the ready heap either
		return
	}
	q.offer(l)
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
// a nacked one is dropped. It returns the number of records dropped and
// their size.
func (q *partitionQueue) drain() (dropped int, bytes int64) {
	q.draining = true
	for k, l := range q.lanes {
		kept := l.entries[:0]
		for _, e := range l.entries {
			switch {
			case e.out:
				kept = append(kept, e)
			case !e.gone:
				bytes += recordSize(e.rec)
				dropped++
			}
		}
		clear(l.entries[len(kept):])
		l.entries = kept
		l.nacked, l.gone, l.inHeap = 0, 0, false
		if len(kept) == 0 {
			delete(q.lanes, k)
		}
	}
	q.held -= dropped
	q.heldBytes -= bytes
	clear(q.ready)
	q.ready = q.ready[:0]
	q.waiting = nil
	return dropped, bytes
}

// recordSize is what a record weighs in the subscriber's buffer bounds:
// its key, value and headers.
func recordSize(rec *kgo.Record) int64 {
	n := len(rec.Key) + len(rec.Value)
	for _, h := range rec.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}

// readyItem is a lane in the ready heap, under the offset of the record it
// may hand out when the lane was offered.
type readyItem struct {
	l   *lane
	off int64
	gen uint64
}

// laneHeap orders ready lanes by the offset of their next record.
type laneHeap []readyItem

func (h laneHeap) Len() int           { return len(h) }
func (h laneHeap) Less(i, j int) bool { return h[i].off < h[j].off }
func (h laneHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *laneHeap) Push(x any)        { *h = append(*h, x.(readyItem)) }
func (h *laneHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = readyItem{}
	*h = old[:len(old)-1]
	return it
}
