package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/sqlstore"
	"github.com/reelay/reelay/ops"
)

// deadLetter is the dead letter of group at partition/offset, as the index
// reads it from its record.
func deadLetter(group string, partition int32, offset int64, handler, class, errText string, at time.Time, extra map[string]string) ops.DeadLetter {
	headers := map[string][]byte{
		events.DLQOriginalTopic: []byte("movie-views"), events.DLQPartition: []byte("2"), events.DLQOffset: []byte("77"),
		events.DLQHandler: []byte(handler), events.DLQErrorClass: []byte(class), events.DLQError: []byte(errText),
		events.DLQAttempts: []byte("4"), events.HeaderID: []byte("e-" + errText), "x-binary": {0xff, 0x00, 0xfe},
	}
	for k, v := range extra {
		headers[k] = []byte(v)
	}
	return ops.ParseDeadLetter(group, ops.Record{Topic: events.DeadLetterTopic(group), Partition: partition, Offset: offset,
		Timestamp: at, Key: []byte("heat"), Headers: headers, Value: []byte(`{"movieId":"heat"}`)})
}

// TestDeadLetterIndex is the contract of the dead-letter index: indexing is
// idempotent, summaries count what is unresolved, listings page newest
// first and filter, one record comes back byte for byte, discards record
// who, when and why.
func TestDeadLetterIndex(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		var ds []ops.DeadLetter
		for i := range 5 {
			class, handler := events.ErrorClassTransient, "movie:movie-views"
			if i%2 == 0 {
				class, handler = events.ErrorClassMalformed, "movie:movie-events"
			}
			ds = append(ds, deadLetter("movie-group", int32(i%2), int64(i), handler, class, "Boom_"+string(rune('a'+i)), t0.Add(time.Duration(i)*time.Second), nil))
		}
		ds = append(ds, deadLetter("analytics-group", 0, 0, "analytics:movie-views", events.ErrorClassPanic, "panic", t0,
			map[string]string{events.HeaderType: "\xff\xfe", events.HeaderSource: "a\x00b", events.DLQError: "cut \xe2\x82"})) // bytes no text column holds
		for range 2 { // indexing again changes nothing
			if err := db.AddDeadLetters(ctx, ds); err != nil {
				t.Fatal(err)
			}
		}
		sums, err := db.DeadLetterSummaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 2 || sums[1].Group != "movie-group" || sums[1].Depth != 5 || sums[1].Total != 5 ||
			sums[1].ByHandler["movie:movie-events"] != 3 || sums[1].ByErrorClass[events.ErrorClassTransient] != 2 ||
			!sums[1].Oldest.Equal(t0) || !sums[1].Newest.Equal(t0.Add(4*time.Second)) || sums[0].Depth != 1 {
			t.Fatalf("summaries %+v", sums)
		}

		page, err := db.DeadLetters(ctx, "movie-group", ops.Query{Limit: 2})
		if err != nil || len(page) != 2 || page[0].Offset != 4 || page[1].Offset != 3 {
			t.Fatalf("first page %v %v", offsets(page), err)
		}
		last := page[1]
		page, err = db.DeadLetters(ctx, "movie-group", ops.Query{Limit: 10, After: &ops.Cursor{At: last.DeadLetteredAt, Partition: last.Partition, Offset: last.Offset}})
		if err != nil || len(page) != 3 || page[0].Offset != 2 || page[2].Offset != 0 {
			t.Fatalf("second page %v %v", offsets(page), err)
		}
		page, err = db.DeadLetters(ctx, "movie-group", ops.Query{Limit: 10, Error: "boom_B", Handler: "movie:movie-views"})
		if err != nil || len(page) != 1 || page[0].Offset != 1 {
			t.Fatalf("filtered %v %v", offsets(page), err)
		}
		if page, err = db.DeadLetters(ctx, "movie-group", ops.Query{Limit: 10, Key: "heat", Status: ops.StatusPending}); err != nil || len(page) != 5 {
			t.Fatalf("by key %v %v", offsets(page), err)
		}
		if page, err = db.DeadLetters(ctx, "movie-group", ops.Query{Limit: 10, Key: "other"}); err != nil || len(page) != 0 {
			t.Fatalf("by another key %v %v", offsets(page), err)
		}
		if page, err = db.DeadLetters(ctx, "movie-group", ops.Query{Limit: 10, Error: "%"}); err != nil || len(page) != 0 {
			t.Fatalf("%% is matched as a wildcard: %v %v", offsets(page), err)
		}

		one, err := db.DeadLetter(ctx, "movie-group", ops.RecordRef{Partition: 1, Offset: 3})
		if err != nil || one.Handler != "movie:movie-views" || one.Attempts != 4 || one.Original.Offset != 77 ||
			!bytes.Equal(one.RawHeaders["x-binary"], []byte{0xff, 0x00, 0xfe}) || string(one.Payload) != `{"movieId":"heat"}` ||
			string(one.RawKey) != "heat" || one.Key != "heat" || one.Status != ops.StatusPending {
			t.Fatalf("one %+v %v", one, err)
		}
		odd, err := db.DeadLetter(ctx, "analytics-group", ops.RecordRef{Partition: 0, Offset: 0})
		if err != nil || odd.EventType != "\uFFFD" || odd.EventSource != "ab" || string(odd.RawHeaders[events.HeaderType]) != "\xff\xfe" {
			t.Fatalf("dead letter with odd bytes: %+v %v", odd, err)
		}
		if _, err := db.DeadLetter(ctx, "movie-group", ops.RecordRef{Partition: 9, Offset: 9}); !errors.Is(err, ops.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}

		at := t0.Add(time.Hour)
		n, err := db.DiscardDeadLetters(ctx, "movie-group", ops.Filter{Handler: "movie:movie-events"}, ops.Discard{By: "alice", At: at, Reason: "bad producer"})
		if err != nil || n != 3 {
			t.Fatalf("discarded %d %v", n, err)
		}
		if n, err = db.DiscardDeadLetters(ctx, "movie-group", ops.Filter{All: true}, ops.Discard{By: "bob", At: at, Reason: "again"}); err != nil || n != 2 {
			t.Fatalf("second discard %d %v, want the 2 left", n, err)
		}
		one, err = db.DeadLetter(ctx, "movie-group", ops.RecordRef{Partition: 0, Offset: 0})
		if err != nil || one.Status != ops.StatusDiscarded || one.Discard == nil || *one.Discard != (ops.Discard{By: "alice", At: at, Reason: "bad producer"}) {
			t.Fatalf("discarded %+v %v", one.Discard, err)
		}
		sums, _ = db.DeadLetterSummaries(ctx)
		if sums[1].Depth != 0 || sums[1].Discarded != 5 || sums[1].Oldest != nil || len(sums[1].ByHandler) != 0 {
			t.Fatalf("after discards %+v", sums[1])
		}
	})
}

// TestReplays is the contract of replays: a replay selects pending,
// replayable dead letters once (a second replay of the same filter selects
// none), one lease holder at a time, progress counted from the records, a
// released lease resumed at once.
func TestReplays(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		ds := []ops.DeadLetter{
			deadLetter("movie-group", 0, 0, "movie:movie-views", events.ErrorClassTransient, "a", t0, nil),
			deadLetter("movie-group", 0, 1, "movie:movie-views", events.ErrorClassTransient, "b", t0, nil),
			deadLetter("movie-group", 1, 0, "movie:movie-views", events.ErrorClassTransient, "c", t0, map[string]string{events.ReplayCount: "3"}),
			deadLetter("movie-group", 1, 1, "movie:movie-views", events.ErrorClassTransient, "d", t0, map[string]string{events.DLQTruncated: "true"}),
		}
		if err := db.AddDeadLetters(ctx, ds); err != nil {
			t.Fatal(err)
		}
		matched, m, skipped, err := db.MatchDeadLetters(ctx, "movie-group", ops.Filter{All: true}, 3, 100)
		if err != nil || m != 2 || skipped != 2 || len(matched) != 2 {
			t.Fatalf("dry run %d matched, %d skipped, %v", m, skipped, err)
		}
		newReplay := func(id string) ops.Replay {
			return ops.Replay{ID: id, Group: "movie-group", Status: ops.ReplayRunning, CreatedAt: t0, UpdatedAt: t0, LeaseUntil: t0.Add(time.Minute)}
		}
		r, err := db.CreateReplay(ctx, newReplay("11111111-1111-1111-1111-111111111111"), ops.Filter{All: true}, 3, "a")
		if err != nil || r.Total != 2 || r.Skipped != 2 {
			t.Fatalf("replay %+v %v", r, err)
		}
		again, err := db.CreateReplay(ctx, newReplay("22222222-2222-2222-2222-222222222222"), ops.Filter{All: true}, 3, "a")
		if err != nil || again.Total != 0 || again.Status != ops.ReplayDone {
			t.Fatalf("the same dead letters twice: %+v %v", again, err)
		}
		if _, ok, err := db.ClaimReplay(ctx, "b", t0.Add(time.Second), t0.Add(time.Minute)); ok || err != nil {
			t.Fatalf("b took a's live lease (%v)", err)
		}
		id, ok, err := db.ClaimReplay(ctx, "a", t0.Add(time.Second), t0.Add(time.Minute))
		if !ok || err != nil || id != r.ID {
			t.Fatalf("a's own claim: %q %v %v", id, ok, err)
		}
		batch, err := db.ReplayBatch(ctx, r.ID, 1)
		if err != nil || len(batch) != 1 || batch[0].Offset != 0 || batch[0].Status != ops.StatusReplaying {
			t.Fatalf("batch %+v %v", batch, err)
		}
		if held, err := db.MarkReplayed(ctx, r.ID, "a", []ops.RecordRef{{Partition: 0, Offset: 0}}, t0, t0.Add(time.Minute)); !held || err != nil {
			t.Fatalf("a's mark: held %v, %v", held, err)
		}
		if err := db.ReleaseReplay(ctx, r.ID, "a"); err != nil {
			t.Fatal(err)
		}
		if id, ok, err = db.ClaimReplay(ctx, "b", t0.Add(2*time.Second), t0.Add(time.Minute)); !ok || err != nil || id != r.ID {
			t.Fatalf("b could not resume a released replay: %v %v", ok, err)
		}
		got, err := db.Replay(ctx, r.ID)
		if err != nil || got.Published != 1 || got.Total != 2 || got.Status != ops.ReplayRunning || !got.Filter.All {
			t.Fatalf("progress %+v %v", got, err)
		}
		batch, _ = db.ReplayBatch(ctx, r.ID, 10)
		if len(batch) != 1 || batch[0].Offset != 1 {
			t.Fatalf("rest %v", offsets(batch))
		}
		// a lost the replay to b: what a sends late marks nothing.
		if held, err := db.MarkReplayed(ctx, r.ID, "a", []ops.RecordRef{{Partition: 0, Offset: 1}}, t0, t0.Add(time.Minute)); held || err != nil {
			t.Fatalf("a marked after losing the lease: held %v, %v", held, err)
		}
		if held, err := db.FinishReplay(ctx, r.ID, "a", t0); held || err != nil {
			t.Fatalf("a finished after losing the lease: held %v, %v", held, err)
		}
		if held, err := db.MarkReplayed(ctx, r.ID, "b", []ops.RecordRef{{Partition: 0, Offset: 1}}, t0, t0.Add(time.Minute)); !held || err != nil {
			t.Fatalf("b's mark: held %v, %v", held, err)
		}
		// The replayed event failed again: a new dead letter from this replay.
		if err := db.AddDeadLetters(ctx, []ops.DeadLetter{deadLetter("movie-group", 0, 2, "movie:movie-views", events.ErrorClassTransient, "a", t0,
			map[string]string{events.ReplayID: r.ID, events.ReplayCount: "1"})}); err != nil {
			t.Fatal(err)
		}
		if held, err := db.FinishReplay(ctx, r.ID, "b", t0.Add(time.Minute)); !held || err != nil {
			t.Fatalf("b's finish: held %v, %v", held, err)
		}
		got, _ = db.Replay(ctx, r.ID)
		if got.Status != ops.ReplayDone || got.Published != 2 || got.FailedAgain != 1 || got.FinishedAt == nil {
			t.Fatalf("done %+v", got)
		}
		if _, err := db.Replay(ctx, "33333333-3333-3333-3333-333333333333"); !errors.Is(err, ops.ErrNotFound) {
			t.Fatalf("missing replay: %v", err)
		}
		if _, ok, _ := db.ClaimReplay(ctx, "b", t0.Add(time.Hour), t0.Add(2*time.Hour)); ok {
			t.Fatal("a finished replay was claimed")
		}
	})
}

// TestOneClaimWinsARace: instances that claim an expired replay at once
// get it one only.
func TestOneClaimWinsARace(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		if err := db.AddDeadLetters(ctx, []ops.DeadLetter{deadLetter("movie-group", 0, 0, "h", events.ErrorClassTransient, "a", t0, nil)}); err != nil {
			t.Fatal(err)
		}
		r := ops.Replay{ID: "44444444-4444-4444-4444-444444444444", Group: "movie-group", Status: ops.ReplayRunning,
			CreatedAt: t0, UpdatedAt: t0, LeaseUntil: t0} // expired at once
		if _, err := db.CreateReplay(ctx, r, ops.Filter{All: true}, 3, "gone"); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := db.ClaimReplay(ctx, fmt.Sprintf("instance-%d", i), t0.Add(time.Second), t0.Add(time.Minute))
				if err != nil && !strings.Contains(err.Error(), "lock") && !strings.Contains(err.Error(), "BUSY") {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d claims won, want 1", n)
		}
	})
}

func offsets(ds []ops.DeadLetter) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Offset
	}
	return out
}
