package router

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// messageLogger is a message's logger, built on first use: most messages
// log nothing, and slog.Logger.With costs as much as the rest of the chain.
type messageLogger struct {
	once  sync.Once
	base  *slog.Logger
	attrs []any
	l     *slog.Logger
}

func (m *messageLogger) logger() *slog.Logger {
	m.once.Do(func() { m.l = m.base.With(m.attrs...) })
	return m.l
}

// withLogger returns ctx carrying base with attrs, to be built when first
// asked for.
func withLogger(ctx context.Context, base *slog.Logger, attrs ...any) context.Context {
	return context.WithValue(ctx, loggerKey{}, &messageLogger{base: base, attrs: attrs})
}

// loggerFrom returns the message's logger, or fallback.
func loggerFrom(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if m, ok := ctx.Value(loggerKey{}).(*messageLogger); ok {
		return m.logger()
	}
	return fallback
}

// withLogAttrs returns ctx whose message logger carries attrs too; ctx as it
// is when it holds no message logger. Call it before the logger is first
// used.
func withLogAttrs(ctx context.Context, attrs ...any) context.Context {
	m, ok := ctx.Value(loggerKey{}).(*messageLogger)
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, loggerKey{}, &messageLogger{base: m.base, attrs: append(slices.Clip(m.attrs), attrs...)})
}
