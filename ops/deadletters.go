package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reelay/reelay/events"
)

// DeadLetters answers what an operator asks about dead letters, and
// discards them. Groups are the registered consumer groups: a group not
// among them is ErrNotFound.
type DeadLetters struct {
	store  Store
	groups []string
	now    func() time.Time
}

// NewDeadLetters serves the dead letters of groups from store.
func NewDeadLetters(store Store, groups []string) *DeadLetters {
	return &DeadLetters{store: store, groups: groups, now: time.Now}
}

// MaxPage bounds a page of a listing; DefaultPage is a page's size when
// the query does not say.
const (
	MaxPage     = 500
	DefaultPage = 50
)

func (s *DeadLetters) checkGroup(group string) error {
	if !slices.Contains(s.groups, group) {
		return fmt.Errorf("consumer group %q: %w", group, ErrNotFound)
	}
	return nil
}

// Summaries returns one summary per registered group, those without dead
// letters included.
func (s *DeadLetters) Summaries(ctx context.Context) ([]GroupSummary, error) {
	found, err := s.store.DeadLetterSummaries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]GroupSummary, 0, len(s.groups))
	for _, g := range s.groups {
		sum := GroupSummary{Group: g, ByHandler: map[string]int{}, ByErrorClass: map[string]int{}}
		if i := slices.IndexFunc(found, func(f GroupSummary) bool { return f.Group == g }); i >= 0 {
			sum = found[i]
		}
		sum.Topic = events.DeadLetterTopic(g)
		out = append(out, sum)
	}
	return out, nil
}

// List returns a page of a group's dead letters and the cursor of the next
// page ("" on the last one).
func (s *DeadLetters) List(ctx context.Context, group string, q Query) ([]DeadLetter, string, error) {
	if err := s.checkGroup(group); err != nil {
		return nil, "", err
	}
	switch q.Status {
	case "", "all":
		q.Status = ""
	case StatusPending, StatusReplaying, StatusReplayed, StatusDiscarded:
	default:
		return nil, "", invalidf("status must be pending, replaying, replayed, discarded or all")
	}
	for name, v := range map[string]string{"handler": q.Handler, "error": q.Error} {
		if err := checkText(name, v); err != nil {
			return nil, "", err
		}
	}
	if q.Limit == 0 {
		q.Limit = DefaultPage
	}
	if q.Limit < 1 || q.Limit > MaxPage {
		return nil, "", invalidf("limit must be 1 to %d", MaxPage)
	}
	page, err := s.store.DeadLetters(ctx, group, Query{Status: q.Status, Handler: q.Handler, Key: q.Key, Error: q.Error, Limit: q.Limit + 1, After: q.After})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(page) > q.Limit {
		page = page[:q.Limit]
		last := page[len(page)-1]
		next = EncodeCursor(Cursor{At: last.DeadLetteredAt, Partition: last.Partition, Offset: last.Offset})
	}
	return page, next, nil
}

// Get returns one dead letter.
func (s *DeadLetters) Get(ctx context.Context, group string, ref RecordRef) (DeadLetter, error) {
	if err := s.checkGroup(group); err != nil {
		return DeadLetter{}, err
	}
	return s.store.DeadLetter(ctx, group, ref)
}

// Discard marks the pending dead letters f selects discarded, recording
// who, when and why; it returns how many. Discarded dead letters are never
// replayed.
func (s *DeadLetters) Discard(ctx context.Context, group string, f Filter, by, reason string) (int, error) {
	if err := s.checkGroup(group); err != nil {
		return 0, err
	}
	if err := f.Validate(); err != nil {
		return 0, err
	}
	reason, by = strings.TrimSpace(reason), strings.TrimSpace(by)
	for name, v := range map[string]string{"reason": reason, "by": by} {
		if err := checkText(name, v); err != nil {
			return 0, err
		}
	}
	if reason == "" || len(reason) > 1000 {
		return 0, invalidf("reason must be 1 to 1000 characters")
	}
	if by == "" {
		by = "admin"
	}
	if len(by) > 200 {
		return 0, invalidf("by must be at most 200 characters")
	}
	return s.store.DiscardDeadLetters(ctx, group, f, Discard{By: by, At: s.now().UTC(), Reason: reason})
}

// EncodeCursor makes the opaque cursor of a listing's next page.
func EncodeCursor(c Cursor) string {
	raw, _ := json.Marshal([]int64{c.At.UnixMilli(), int64(c.Partition), c.Offset})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// DecodeCursor reads a cursor EncodeCursor made.
func DecodeCursor(s string) (*Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var v []int64
	if err != nil || len(s) > 200 || json.Unmarshal(raw, &v) != nil || len(v) != 3 {
		return nil, invalidf("cursor is not one this API gave")
	}
	return &Cursor{At: time.UnixMilli(v[0]).UTC(), Partition: int32(v[1]), Offset: v[2]}, nil
}
