package ops

import (
	"context"
	"time"
)

// Store keeps the dead-letter index and the replays. sqlstore.DB satisfies
// it on SQLite and PostgreSQL.
type Store interface {
	// AddDeadLetters indexes dead letters as pending; one already indexed
	// (same group, partition and offset) is left as it is.
	AddDeadLetters(ctx context.Context, ds []DeadLetter) error
	// DeadLetterSummaries summarises each group that has dead letters.
	DeadLetterSummaries(ctx context.Context) ([]GroupSummary, error)
	// DeadLetters lists a group's dead letters, newest first, by page, with
	// payload previews only (PayloadPreview; Payload is the preview's bytes).
	DeadLetters(ctx context.Context, group string, q Query) ([]DeadLetter, error)
	// DeadLetter returns one dead letter with its bytes, or ErrNotFound.
	DeadLetter(ctx context.Context, group string, ref RecordRef) (DeadLetter, error)
	// MatchDeadLetters lists up to limit pending dead letters f selects that
	// may be replayed (see CreateReplay), oldest first, with payload
	// previews only; it counts them
	// (matched) and those f selects that may not (skipped).
	MatchDeadLetters(ctx context.Context, group string, f Filter, maxReplays, limit int) (ds []DeadLetter, matched, skipped int, err error)
	// CreateReplay records r and marks the pending dead letters f selects
	// that may be replayed (not truncated, replayed fewer than maxReplays
	// times) as replaying under r.ID, in one transaction; r's Total and
	// Skipped are set from them. The replay is leased to owner until
	// r.LeaseUntil.
	CreateReplay(ctx context.Context, r Replay, f Filter, maxReplays int, owner string) (Replay, error)
	// ClaimReplay leases a running replay whose lease expired to owner
	// until leaseUntil; ok is false when there is none.
	ClaimReplay(ctx context.Context, owner string, now, leaseUntil time.Time) (id string, ok bool, err error)
	// ReplayBatch returns up to limit dead letters of the replay still to
	// send, with their bytes, in dead-letter order.
	ReplayBatch(ctx context.Context, id string, limit int) ([]DeadLetter, error)
	// MarkReplayed marks sent dead letters replayed and renews owner's
	// lease; held is false, and nothing is marked, when owner lost it.
	MarkReplayed(ctx context.Context, id, owner string, refs []RecordRef, now, leaseUntil time.Time) (held bool, err error)
	// FinishReplay marks the replay done; held is false when owner lost it.
	FinishReplay(ctx context.Context, id, owner string, now time.Time) (held bool, err error)
	// ReleaseReplay ends owner's lease, so another instance (or this one,
	// restarted) resumes the replay at once.
	ReleaseReplay(ctx context.Context, id, owner string) error
	// Replay returns a replay with its progress, or ErrNotFound.
	Replay(ctx context.Context, id string) (Replay, error)
	// DiscardDeadLetters marks the pending dead letters f selects
	// discarded, and returns how many.
	DiscardDeadLetters(ctx context.Context, group string, f Filter, d Discard) (int, error)
}

// GroupSummary is the state of one group's dead letters.
type GroupSummary struct {
	Group        string         `json:"group"`
	Topic        string         `json:"topic"`
	Depth        int            `json:"depth"`
	Total        int            `json:"total"`
	Replayed     int            `json:"replayed"`
	Discarded    int            `json:"discarded"`
	Oldest       *time.Time     `json:"oldest"`
	Newest       *time.Time     `json:"newest"`
	ByHandler    map[string]int `json:"byHandler"`
	ByErrorClass map[string]int `json:"byErrorClass"`
}

// Query pages a listing of dead letters. Status "" or "all" lists every
// status; Handler, Key and Error filter as in Filter. After is the cursor of
// the page's last record (Cursor), nil for the first page.
type Query struct {
	Status  string
	Handler string
	Key     string
	Error   string
	Limit   int
	After   *Cursor
}

// Cursor is where a page of dead letters ended: the listing is ordered by
// time dead-lettered (newest first), then partition and offset.
type Cursor struct {
	At        time.Time
	Partition int32
	Offset    int64
}
