// Package notify holds the notifiers: a log notifier, the default, and a
// webhook notifier.
package notify

import (
	"context"
	"log/slog"

	"github.com/reelay/reelay/handlers/notification"
)

// Log writes each notification to the log and always succeeds in one attempt.
type Log struct{ logger *slog.Logger }

// NewLog returns a log notifier.
func NewLog(logger *slog.Logger) *Log { return &Log{logger: logger} }

// Notify logs m.
func (l *Log) Notify(ctx context.Context, m notification.Message) (int, error) {
	l.logger.InfoContext(ctx, "notification", "id", m.ID, "user", m.UserID, "channel", m.Channel, "subject", m.Subject)
	return 1, nil
}
