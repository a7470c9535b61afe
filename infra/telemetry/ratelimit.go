package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// maxRepeatKeys bounds the lines a repeatLimiter remembers; past it, lines
// pass unlimited rather than grow the map.
const maxRepeatKeys = 1024

// repeatLimiter is a slog.Handler that lets a warning or error through at
// most once per window for each (level, message): during an outage the same
// line from every partition and every retry would otherwise fill the log.
// The first line of a window passes; the next one to pass says how many
// were dropped in between ("repeated"). Lines below warning always pass,
// and so do lines about one event (a logger carrying a "dedup_id", as the
// router's per-message logger does): each dead letter and each failed
// attempt is written.
type repeatLimiter struct {
	next     slog.Handler
	window   time.Duration
	now      func() time.Time
	state    *repeatState // shared by the handlers WithAttrs and WithGroup make
	perEvent bool
}

type repeatState struct {
	mu   sync.Mutex
	seen map[repeatKey]*repeatCount
}

type repeatKey struct {
	level slog.Level
	msg   string
}

type repeatCount struct {
	passed  time.Time // when a line last passed
	dropped int
}

// LimitRepeats wraps next so that each warning or error message is written
// at most once per window.
func LimitRepeats(next slog.Handler, window time.Duration) slog.Handler {
	return &repeatLimiter{next: next, window: window, now: time.Now, state: &repeatState{seen: map[repeatKey]*repeatCount{}}}
}

func (r *repeatLimiter) Enabled(ctx context.Context, level slog.Level) bool {
	return r.next.Enabled(ctx, level)
}

func (r *repeatLimiter) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level < slog.LevelWarn || r.perEvent {
		return r.next.Handle(ctx, rec)
	}
	k := repeatKey{rec.Level, rec.Message}
	now := r.now()
	s := r.state
	s.mu.Lock()
	c := s.seen[k]
	switch {
	case c == nil && len(s.seen) >= maxRepeatKeys:
	case c == nil:
		s.seen[k] = &repeatCount{passed: now}
	case now.Sub(c.passed) < r.window:
		c.dropped++
		s.mu.Unlock()
		return nil
	default:
		if c.dropped > 0 {
			rec = rec.Clone()
			rec.AddAttrs(slog.Int("repeated", c.dropped))
		}
		c.passed, c.dropped = now, 0
	}
	s.mu.Unlock()
	return r.next.Handle(ctx, rec)
}

func (r *repeatLimiter) WithAttrs(attrs []slog.Attr) slog.Handler {
	perEvent := r.perEvent
	for _, a := range attrs {
		perEvent = perEvent || a.Key == "dedup_id"
	}
	return &repeatLimiter{next: r.next.WithAttrs(attrs), window: r.window, now: r.now, state: r.state, perEvent: perEvent}
}

func (r *repeatLimiter) WithGroup(name string) slog.Handler {
	return &repeatLimiter{next: r.next.WithGroup(name), window: r.window, now: r.now, state: r.state, perEvent: r.perEvent}
}
