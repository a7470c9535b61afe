package router

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// messageLogger is a message's logger, built on first use: most messages
// log nothing, and slog.Logger.With costs as much as the rest of the chain.
// Its fields are kept typed until then, so that a message that logs
// nothing boxes none of them.
type messageLogger struct {
	once   sync.Once
	base   *slog.Logger
	fields messageFields
	extra  []any // more attributes (withLogAttrs)
	l      *slog.Logger
}

// messageFields are the attributes of every line a message logs.
type messageFields struct {
	correlationID, eventID, source, dedupID, group, handler, topic string
	partition                                                      int32
	offset                                                         int64
}

func (m *messageLogger) logger() *slog.Logger {
	m.once.Do(func() {
		f := m.fields
		attrs := append([]any{
			slog.String("correlation_id", f.correlationID), slog.String("event_id", f.eventID),
			slog.String("event_source", f.source), slog.String("dedup_id", f.dedupID),
			slog.String("group", f.group), slog.String("handler", f.handler), slog.String("topic", f.topic),
			slog.Int("partition", int(f.partition)), slog.Int64("offset", f.offset),
		}, m.extra...)
		m.l = m.base.With(attrs...)
	})
	return m.l
}

// withLogger returns ctx carrying base with the message's fields, to be
// built when first asked for.
func withLogger(ctx context.Context, base *slog.Logger, fields messageFields) context.Context {
	return context.WithValue(ctx, loggerKey{}, &messageLogger{base: base, fields: fields})
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
	return context.WithValue(ctx, loggerKey{}, &messageLogger{base: m.base, fields: m.fields, extra: append(slices.Clip(m.extra), attrs...)})
}
