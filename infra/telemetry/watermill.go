package telemetry

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// WatermillLogger adapts l to Watermill. Unlike watermill.NewSlogLogger, it
// builds a line's attributes only when l logs at its level, and With only
// records the fields: Watermill's router calls With and Trace for every
// message, which then cost nothing at the usual levels. Watermill's Info
// lines (each handler added, started and stopped) are logged at debug:
// Reelay says what matters about its start and stop itself.
func WatermillLogger(l *slog.Logger) watermill.LoggerAdapter { return &lazyLogger{l: l} }

type lazyLogger struct {
	l      *slog.Logger
	parent *lazyLogger
	fields watermill.LogFields
}

func (z *lazyLogger) Error(msg string, err error, fields watermill.LogFields) {
	z.log(slog.LevelError, msg, fields, "error", err)
}
func (z *lazyLogger) Info(msg string, fields watermill.LogFields) {
	z.log(slog.LevelDebug, msg, fields)
}
func (z *lazyLogger) Debug(msg string, fields watermill.LogFields) {
	z.log(slog.LevelDebug, msg, fields)
}
func (z *lazyLogger) Trace(msg string, fields watermill.LogFields) {
	z.log(watermill.LevelTrace, msg, fields)
}

// With returns a logger that adds fields to every line.
func (z *lazyLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return &lazyLogger{l: z.l, parent: z, fields: fields}
}

func (z *lazyLogger) log(level slog.Level, msg string, fields watermill.LogFields, extra ...any) {
	ctx := context.Background()
	if !z.l.Enabled(ctx, level) {
		return
	}
	var args []any
	for p := z; p != nil; p = p.parent {
		for k, v := range p.fields {
			args = append(args, k, v)
		}
	}
	for k, v := range fields {
		args = append(args, k, v)
	}
	z.l.Log(ctx, level, msg, append(args, extra...)...)
}
