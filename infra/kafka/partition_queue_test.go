package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// queueOf builds a queue holding one record per key, at offsets 0, 1, …;
// "" is a record without a key.
func queueOf(maxInFlight int, keys ...string) (*partitionQueue, []*kgo.Record) {
	q := newPartitionQueue("t", 0, maxInFlight, time.Second)
	var recs []*kgo.Record
	for i, k := range keys {
		rec := &kgo.Record{Topic: "t", Offset: int64(i), LeaderEpoch: 3}
		if k != "" {
			rec.Key = []byte(k)
		}
		if !q.add(rec) {
			panic("add refused")
		}
		recs = append(recs, rec)
	}
	return q, recs
}

// drainOut hands out everything that may go now.
func drainOut(q *partitionQueue, now time.Time) []int64 {
	var out []int64
	for rec := q.next(now); rec != nil; rec = q.next(now) {
		out = append(out, rec.Offset)
	}
	return out
}

func wantOffsets(t *testing.T, what string, got []int64, want ...int64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}

func wantCommit(t *testing.T, q *partitionQueue, want int64) {
	t.Helper()
	off, epoch, ok := q.commitPoint()
	if !ok || off != want || epoch != 3 {
		t.Fatalf("commit point %d (epoch %d, ok %v), want %d", off, epoch, ok, want)
	}
}

func TestPartitionQueueKeepsKeyOrder(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "b", "a", "b")
	wantOffsets(t, "first hand-out: one per key", drainOut(q, now), 0, 2)
	q.ack(recs[2])
	wantOffsets(t, "after b's ack: b's next", drainOut(q, now), 4)
	q.ack(recs[0])
	wantOffsets(t, "after a's ack: a's next", drainOut(q, now), 1)
	q.ack(recs[1])
	wantOffsets(t, "then a's last", drainOut(q, now), 3)
}

func TestPartitionQueueRunsKeysConcurrentlyUpToItsBound(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(3, "a", "b", "c", "d", "e")
	wantOffsets(t, "bounded hand-out", drainOut(q, now), 0, 1, 2)
	q.ack(recs[1])
	wantOffsets(t, "a freed slot goes to the lowest waiting offset", drainOut(q, now), 3)
}

func TestPartitionQueueOrdersRecordsWithoutKeyAmongThemselves(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "", "", "a")
	wantOffsets(t, "one keyless record at a time", drainOut(q, now), 0, 2)
	q.ack(recs[0])
	wantOffsets(t, "then the next keyless one", drainOut(q, now), 1)
}

func TestPartitionQueueCommitsOnlyTheAckedPrefix(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "b", "c", "d")
	drainOut(q, now)
	if _, _, ok := q.commitPoint(); ok {
		t.Fatal("commit point before any ack")
	}
	q.ack(recs[1])
	q.ack(recs[3])
	if _, _, ok := q.commitPoint(); ok {
		t.Fatal("offsets 1 and 3 acked above the gap at 0 moved the commit point")
	}
	q.ack(recs[0])
	wantCommit(t, q, 2) // 0 and 1 acked; 2 is the gap now
	q.ack(recs[2])
	wantCommit(t, q, 4)
}

func TestPartitionQueueNackHoldsOnlyItsKey(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "b", "b")
	wantOffsets(t, "first", drainOut(q, now), 0, 2)
	if !q.nack(recs[0], now) {
		t.Fatal("nack refused")
	}
	q.ack(recs[2])
	wantOffsets(t, "b goes on while a waits", drainOut(q, now), 3)
	if at, ok := q.nextRetry(); !ok || !at.Equal(now.Add(time.Second)) {
		t.Fatalf("next retry %v %v", at, ok)
	}
	wantOffsets(t, "a's record again after the backoff, not its next", drainOut(q, now.Add(time.Second)), 0)
	q.ack(recs[0])
	wantOffsets(t, "then a's next", drainOut(q, now), 1)
	if _, _, ok := q.commitPoint(); !ok {
		t.Fatal("no commit point")
	}
	wantCommit(t, q, 1)
}

func TestPartitionQueueDrainDropsQueuedRecords(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(2, "a", "b", "c", "a")
	wantOffsets(t, "first", drainOut(q, now), 0, 1)
	if dropped, bytes := q.drain(); dropped != 2 || bytes != 2 {
		t.Fatalf("dropped %d (%d bytes), want 2 of 2 bytes (offsets 2 and 3, keys c and a)", dropped, bytes)
	}
	if q.held != 2 || q.inFlight != 2 || q.heldBytes != 2 {
		t.Fatalf("held %d (%d bytes) in flight %d, want 2 (2 bytes) and 2", q.held, q.heldBytes, q.inFlight)
	}
	q.ack(recs[1])
	wantOffsets(t, "nothing more once draining", drainOut(q, now))
	if q.add(&kgo.Record{Offset: 9}) {
		t.Fatal("a draining queue took a record")
	}
	q.nack(recs[0], now)
	wantOffsets(t, "a nacked record is not handed out again while draining", drainOut(q, now.Add(time.Hour)))
	if q.held != 0 || q.inFlight != 0 {
		t.Fatalf("held %d in flight %d after the last settled", q.held, q.inFlight)
	}
	if _, _, ok := q.commitPoint(); ok {
		t.Fatal("commit point past offset 0, which was nacked")
	}
}

func TestPartitionQueueIgnoresRecordsNotOutAndDuplicates(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a")
	if q.ack(recs[1]) {
		t.Fatal("acked a record that was not handed out")
	}
	if q.add(&kgo.Record{Offset: 1, Key: []byte("a")}) {
		t.Fatal("took an offset already added")
	}
	drainOut(q, now)
	q.ack(recs[0])
	if q.ack(recs[0]) {
		t.Fatal("acked twice")
	}
	wantCommit(t, q, 1)
}

func TestPartitionQueueSequencedRecordLetsItsKeyGoOn(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "a", "b")
	wantOffsets(t, "first", drainOut(q, now), 0, 3)
	if q.sequenced(recs[1]) {
		t.Fatal("a record not out was sequenced")
	}
	if !q.sequenced(recs[0]) {
		t.Fatal("sequencing the record out refused")
	}
	if q.sequenced(recs[0]) {
		t.Fatal("a record sequenced twice")
	}
	wantOffsets(t, "a's next while its first is out", drainOut(q, now), 1)
	wantOffsets(t, "but no further until that one is sequenced", drainOut(q, now))
	q.ack(recs[1])
	wantOffsets(t, "an ack of the last one out frees the lane", drainOut(q, now), 2)
	if _, _, ok := q.commitPoint(); ok {
		t.Fatal("offset 1 acked above 0 moved the commit point")
	}
	q.ack(recs[0])
	wantCommit(t, q, 2)
	q.ack(recs[2])
	q.ack(recs[3])
	wantCommit(t, q, 4)
	if len(q.lanes) != 0 || q.inFlight != 0 || q.held != 0 || q.heldBytes != 0 {
		t.Fatalf("left lanes %d, in flight %d, held %d (%d bytes)", len(q.lanes), q.inFlight, q.held, q.heldBytes)
	}
}

func TestPartitionQueueNackOfSequencedRecordsRedeliversTheRunInOrder(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "a", "a")
	threeOutInSequence(t, q, recs, now)
	q.nack(recs[1], now)
	wantOffsets(t, "a nack stops the lane", drainOut(q, now.Add(time.Hour)))
	q.nack(recs[2], now)
	wantOffsets(t, "still stopped while a record is out", drainOut(q, now.Add(time.Hour)))
	q.ack(recs[0])
	wantOffsets(t, "nothing before the backoff", drainOut(q, now))
	later := now.Add(time.Second)
	wantOffsets(t, "after it: the first nacked record, alone", drainOut(q, later), 1)
	q.sequenced(recs[1])
	wantOffsets(t, "then the rest in order", drainOut(q, later), 2)
	q.sequenced(recs[2])
	wantOffsets(t, "and the record never handed out", drainOut(q, later), 3)
	q.ack(recs[1])
	q.ack(recs[2])
	q.ack(recs[3])
	wantCommit(t, q, 4)
	if len(q.lanes) != 0 || q.inFlight != 0 || q.held != 0 || q.ready.Len() != 0 {
		t.Fatalf("left lanes %d, in flight %d, held %d, ready %d", len(q.lanes), q.inFlight, q.held, q.ready.Len())
	}
}

func TestPartitionQueueDrainKeepsSequencedRecordsOut(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "a")
	drainOut(q, now)
	q.sequenced(recs[0])
	drainOut(q, now)
	if dropped, _ := q.drain(); dropped != 1 {
		t.Fatalf("dropped %d, want the one queued record", dropped)
	}
	q.ack(recs[1])
	if _, _, ok := q.commitPoint(); ok {
		t.Fatal("commit point moved above the record still out")
	}
	q.ack(recs[0])
	wantCommit(t, q, 2)
	if q.inFlight != 0 || q.held != 0 {
		t.Fatalf("in flight %d, held %d", q.inFlight, q.held)
	}
}

func TestPartitionQueueAckedRecordBehindANackedOneIsNotRedelivered(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "a", "a")
	threeOutInSequence(t, q, recs, now)
	q.ack(recs[2])
	q.nack(recs[1], now)
	q.ack(recs[0])
	later := now.Add(time.Second)
	wantOffsets(t, "after the backoff: the nacked record", drainOut(q, later), 1)
	q.sequenced(recs[1])
	wantOffsets(t, "then the record never handed out, not the acked one", drainOut(q, later), 3)
	q.ack(recs[1])
	q.ack(recs[3])
	wantCommit(t, q, 4)
	if len(q.lanes) != 0 || q.inFlight != 0 || q.held != 0 {
		t.Fatalf("left lanes %d, in flight %d, held %d", len(q.lanes), q.inFlight, q.held)
	}
}

// threeOutInSequence hands out the first three records of one key's lane,
// each after the one before it was sequenced.
func threeOutInSequence(t *testing.T, q *partitionQueue, recs []*kgo.Record, now time.Time) {
	t.Helper()
	drainOut(q, now)
	q.sequenced(recs[0])
	drainOut(q, now)
	q.sequenced(recs[1])
	wantOffsets(t, "three of a's records out", drainOut(q, now), 2)
}

// runOf hands out one run and returns its offsets.
func runOf(q *partitionQueue, now time.Time, max int) []int64 {
	var out []int64
	for _, rec := range q.nextRun(now, max) {
		out = append(out, rec.Offset)
	}
	return out
}

func TestPartitionQueueRunKeepsEachKeysRecordsTogetherInOrder(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "b", "a", "b", "c")
	wantOffsets(t, "a run: each lane's queued records follow its first", runOf(q, now, 4), 0, 1, 3, 2)
	wantOffsets(t, "the next run: b's lane is held by 2, so c", runOf(q, now, 4), 5)
	wantOffsets(t, "nothing more while the runs' last records are out", runOf(q, now, 4))
	if q.sequenced(recs[1]) {
		t.Fatal("a record of a run before its lane's last was sequenced")
	}
	q.add(&kgo.Record{Topic: "t", Offset: 6, LeaderEpoch: 3, Key: []byte("a")})
	if !q.sequenced(recs[3]) {
		t.Fatal("the lane's last record of the run not sequenced")
	}
	wantOffsets(t, "a sequenced lane goes on", runOf(q, now, 4), 6)
	q.ack(recs[1])
	q.ack(recs[0])
	wantCommit(t, q, 2)
	q.ack(recs[2])
	wantOffsets(t, "an ack of the lane's last record frees it", runOf(q, now, 4), 4)
	if in := q.inFlight; in != 4 {
		t.Fatalf("in flight %d, want 4 (3, 4, 5, 6)", in)
	}
}

func TestPartitionQueueRunStopsAtTheBound(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, _ := queueOf(3, "a", "a", "a", "b", "b")
	wantOffsets(t, "maxInFlight 3", runOf(q, now, 10), 0, 1, 2)
	wantOffsets(t, "none while 3 are out", runOf(q, now, 10))
	q2, _ := queueOf(16, "a", "b", "c")
	wantOffsets(t, "run of 1 at most", runOf(q2, now, 1), 0)
	wantOffsets(t, "then the next", runOf(q2, now, 1), 1)
}

func TestPartitionQueueNackInARunRedeliversTheRestOfItsKeyInOrder(t *testing.T) {
	t.Parallel()
	now := time.Now()
	q, recs := queueOf(16, "a", "a", "a", "b")
	wantOffsets(t, "run", runOf(q, now, 10), 0, 1, 2, 3)
	q.ack(recs[0])
	q.nack(recs[1], now)
	q.nack(recs[2], now)
	q.ack(recs[3])
	wantCommit(t, q, 1)
	wantOffsets(t, "nothing before the backoff", runOf(q, now, 10))
	wantOffsets(t, "after it, the nacked records again, in order", runOf(q, now.Add(time.Second), 10), 1, 2)
	q.ack(recs[1])
	q.ack(recs[2])
	wantCommit(t, q, 4)
	if len(q.lanes) != 0 || q.inFlight != 0 || q.held != 0 {
		t.Fatalf("left lanes %d, in flight %d, held %d", len(q.lanes), q.inFlight, q.held)
	}
}
