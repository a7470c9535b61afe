package ops_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/ops"
)

// refusingStore keeps what AddDeadLetters is given, refusing for good any
// call that holds the offset it refuses, and failing every call while down.
type refusingStore struct {
	ops.Store
	refuse int64
	down   bool
	kept   []int64
}

func (s *refusingStore) AddDeadLetters(_ context.Context, ds []ops.DeadLetter) error {
	if s.down {
		return errors.New("connection refused")
	}
	for _, d := range ds {
		if d.Offset == s.refuse {
			return events.Permanent(errors.New("invalid byte sequence"))
		}
	}
	for _, d := range ds {
		s.kept = append(s.kept, d.Offset)
	}
	return nil
}

// TestIndexSkipsOnlyWhatTheStoreRefusesForGood: a record the store refuses
// for good is skipped and the others indexed; a transient error is
// returned, so that the records are read again.
func TestIndexSkipsOnlyWhatTheStoreRefusesForGood(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	recs := []ops.Record{{Topic: "movie-group.dlq", Offset: 1}, {Topic: "movie-group.dlq", Offset: 2}, {Topic: "movie-group.dlq", Offset: 3}}
	s := &refusingStore{refuse: 2}
	if err := ops.Index(context.Background(), s, recs, logger); err != nil || !slices.Equal(s.kept, []int64{1, 3}) {
		t.Fatalf("kept %v, %v; want 1 and 3", s.kept, err)
	}
	down := &refusingStore{refuse: -1, down: true}
	if err := ops.Index(context.Background(), down, recs, logger); err == nil || len(down.kept) != 0 {
		t.Fatalf("a transient error was swallowed: kept %v, %v", down.kept, err)
	}
}
