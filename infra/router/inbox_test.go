package router

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// seenInbox is an Inbox stub at the edge: it remembers which (group, id)
// were applied and runs fn for the others.
type seenInbox struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *seenInbox) Apply(ctx context.Context, group, id string, fn func(context.Context) error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[group+"/"+id] {
		return false, nil
	}
	if err := fn(ctx); err != nil {
		return false, err
	}
	s.seen[group+"/"+id] = true
	return true, nil
}

func (s *seenInbox) Applied(_ context.Context, group, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[group+"/"+id], nil
}

func (s *seenInbox) ApplyBatch(context.Context, string, []string, func(context.Context, []int) error) ([]int, error) {
	panic("not a batch")
}

// TestInboxAppliesOnceAndDetachesTheContext: an event is handed to the
// handler once per group (the second delivery is marked duplicate); the
// handler's context outlives the router's, and the message gets the
// router's back afterwards; with lookFirst a seen event never reaches the
// handler.
func TestInboxAppliesOnceAndDetachesTheContext(t *testing.T) {
	t.Parallel()
	ib := &seenInbox{seen: map[string]bool{}}
	calls := 0
	routerCtx, closeRouter := context.WithCancel(context.Background())
	h := inbox(ib, "g", time.Minute, false)(func(msg *message.Message) ([]*message.Message, error) {
		calls++
		closeRouter() // the router closes mid-event
		if err := msg.Context().Err(); err != nil {
			t.Errorf("the handler's context ended with the router's: %v", err)
		}
		return nil, nil
	})
	first := message.NewMessage("e1", nil)
	first.SetContext(routerCtx)
	if _, err := h(first); err != nil || calls != 1 || isDuplicate(first.Context()) {
		t.Fatalf("first: err %v, calls %d, duplicate %v", err, calls, isDuplicate(first.Context()))
	}
	if first.Context().Err() == nil {
		t.Fatal("the message did not get the router's context back")
	}
	again := message.NewMessage("e1", nil)
	if _, err := h(again); err != nil || calls != 1 || !isDuplicate(again.Context()) {
		t.Fatalf("redelivery: err %v, calls %d, duplicate %v", err, calls, isDuplicate(again.Context()))
	}
	looking := inbox(ib, "g", time.Minute, true)(func(*message.Message) ([]*message.Message, error) {
		t.Error("a seen event reached a handler with side effects")
		return nil, nil
	})
	seen := message.NewMessage("e1", nil)
	if _, err := looking(seen); err != nil || !isDuplicate(seen.Context()) {
		t.Fatalf("lookFirst: %v %v", err, isDuplicate(seen.Context()))
	}
}
