package notification

import (
	"context"

	"github.com/reelay/reelay/events"
)

// requested delivers the notification and records the outcome. A delivery
// that fails after the notifier's own retries is recorded as failed, not
// retried by the router: the notifier already spent its retry budget, and the
// record is where the failure is seen.
//
// The notifier is called before the inbox transaction begins, so a crash
// between delivery and commit delivers again on redelivery: receivers get the
// notification id to drop the repeat.
func (h Handler) requested(ctx context.Context, e events.Envelope, n events.NotificationRequested) error {
	m := Message{ID: n.NotificationID, UserID: n.UserID, Channel: n.Channel, Subject: n.Subject, Body: n.Body}
	if m.ID == "" {
		m.ID = e.DedupID() // unique across sources, unlike the event id
	}
	first := h.now()
	attempts, err := h.notifiers.For(m.Channel).Notify(ctx, m)
	if err != nil && ctx.Err() != nil {
		return err // shutting down: leave it for redelivery rather than record a failure
	}
	d := Delivery{Message: m, Status: StatusDelivered, Attempts: attempts, RequestedAt: e.Time,
		FirstAttemptAt: first, LastAttemptAt: h.now()}
	if err != nil {
		d.Status, d.Error = StatusFailed, err.Error()
	}
	return h.store.RecordDelivery(ctx, d)
}
