package sqlstore

import (
	"context"

	"github.com/reelay/reelay/handlers/notification"
)

// Deliveries records notification deliveries: it satisfies notification.Store
// and serves their query.
type Deliveries struct{ db *DB }

// NewDeliveries returns the delivery store on db.
func NewDeliveries(db *DB) *Deliveries { return &Deliveries{db: db} }

// RecordDelivery stores the outcome of a delivery. A second delivery of the
// same notification id (a producer that sent it twice under two event ids)
// adds its attempts and keeps the latest status.
func (s *Deliveries) RecordDelivery(ctx context.Context, d notification.Delivery) error {
	tx, err := s.db.tx(ctx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO deliveries (id, user_id, channel, subject, status, attempts, error, requested_at, first_attempt_at, last_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error,
			attempts = deliveries.attempts + excluded.attempts, last_attempt_at = excluded.last_attempt_at`,
		d.ID, d.UserID, d.Channel, d.Subject, d.Status, d.Attempts, d.Error,
		millis(d.RequestedAt), millis(d.FirstAttemptAt), millis(d.LastAttemptAt))
	return err
}

// UserDeliveries lists a user's latest deliveries, newest request first, at most limit.
func (s *Deliveries) UserDeliveries(ctx context.Context, userID string, limit int) ([]notification.Delivery, error) {
	rows, err := s.db.read.QueryContext(ctx, `
		SELECT id, user_id, channel, subject, status, attempts, error, requested_at, first_attempt_at, last_attempt_at
		FROM deliveries WHERE user_id = $1 ORDER BY requested_at DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []notification.Delivery{}
	for rows.Next() {
		var (
			d                        notification.Delivery
			requested, first, latest int64
		)
		if err := rows.Scan(&d.ID, &d.UserID, &d.Channel, &d.Subject, &d.Status, &d.Attempts, &d.Error,
			&requested, &first, &latest); err != nil {
			return nil, err
		}
		d.RequestedAt, d.FirstAttemptAt, d.LastAttemptAt = fromMillis(requested), fromMillis(first), fromMillis(latest)
		out = append(out, d)
	}
	return out, rows.Err()
}
