package kafka

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoLogger writes franz-go's log lines to a slog.Logger: its errors and
// warnings as such, its info lines (group joins, assignments, metadata) at
// debug level, since they come several per rebalance.
type kgoLogger struct{ logger *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel {
	switch {
	case l.logger.Enabled(context.Background(), slog.LevelDebug):
		return kgo.LogLevelInfo
	case l.logger.Enabled(context.Background(), slog.LevelWarn):
		return kgo.LogLevelWarn
	case l.logger.Enabled(context.Background(), slog.LevelError):
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		lvl = slog.LevelError
	case kgo.LogLevelWarn:
		lvl = slog.LevelWarn
	}
	l.logger.Log(context.Background(), lvl, "kafka client: "+msg, keyvals...)
}
