package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Idempotency keys (table idempotency_keys, migration 0002) record which
// request holds an Idempotency-Key and the answer it was given. A row is in
// one of three states:
//
//   - in flight: status 0 and locked_until in the future (the claim's lease);
//   - released: status 0 and locked_until in the past, after the request
//     failed or its instance died; a request with the same fingerprint may
//     claim it again, another fingerprint may not;
//   - done: status > 0, with the answer's body.
//
// Every row expires at expires_at, after which the key is unknown and may be
// claimed by any request; PurgeIdempotencyKeys deletes expired rows. Each
// method is one short statement: on SQLite they share the single writer with
// the consumers.

const claimIdempotencyKey = `
	INSERT INTO idempotency_keys (idem_key, fingerprint, status, body, locked_until, expires_at)
	VALUES ($1, $2, 0, '', $3, $4)
	ON CONFLICT (idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, status = 0, body = '',
		locked_until = excluded.locked_until, expires_at = excluded.expires_at
	WHERE idempotency_keys.expires_at <= $5
		OR (idempotency_keys.status = 0 AND idempotency_keys.locked_until <= $5
			AND idempotency_keys.fingerprint = excluded.fingerprint)`

// ClaimIdempotencyKey takes key for a request with fingerprint and reports
// whether the caller now holds it. A key is taken when it is unknown or
// expired, or when it was held by a request with the same fingerprint whose
// claim was released or outlived its lease. The claim lasts lease; the key
// expires ttl (at least lease) after it is claimed. The holder must end the
// claim with CompleteIdempotencyKey, ReleaseIdempotencyKey or
// ForgetIdempotencyKey.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, key, fingerprint string, lease, ttl time.Duration) (bool, error) {
	now := time.Now()
	res, err := db.exec(ctx, claimIdempotencyKey, key, fingerprint,
		millis(now.Add(lease)), millis(now.Add(max(ttl, lease))), millis(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// IdempotencyKey returns the fingerprint of the request that holds or held
// key and the answer it was given: status 0 while that request is in flight
// or after its claim was released. An unknown or expired key has an empty
// fingerprint.
func (db *DB) IdempotencyKey(ctx context.Context, key string) (fingerprint string, status int, body []byte, err error) {
	var text string
	err = db.read.QueryRowContext(ctx,
		`SELECT fingerprint, status, body FROM idempotency_keys WHERE idem_key = $1 AND expires_at > $2`,
		key, millis(time.Now())).Scan(&fingerprint, &status, &text)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil, nil
	}
	if err != nil {
		return "", 0, nil, err
	}
	return fingerprint, status, []byte(text), nil
}

// CompleteIdempotencyKey stores the answer (status > 0, body valid UTF-8,
// such as JSON) of the request that holds key with fingerprint; later
// requests with the same fingerprint get it until the key expires.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, key, fingerprint string, status int, body []byte) error {
	_, err := db.exec(ctx, `UPDATE idempotency_keys SET status = $3, body = $4, locked_until = 0
		WHERE idem_key = $1 AND fingerprint = $2 AND status = 0`, key, fingerprint, status, string(body))
	return err
}

// ReleaseIdempotencyKey ends the claim without an answer but keeps the
// fingerprint: a retry of the same request may claim the key at once, a
// request with another body still may not.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, key, fingerprint string) error {
	_, err := db.exec(ctx, `UPDATE idempotency_keys SET locked_until = 0
		WHERE idem_key = $1 AND fingerprint = $2 AND status = 0`, key, fingerprint)
	return err
}

// ForgetIdempotencyKey deletes a claim that had no effect (the request was
// refused), so that the key may be used again with any body.
func (db *DB) ForgetIdempotencyKey(ctx context.Context, key, fingerprint string) error {
	_, err := db.exec(ctx, `DELETE FROM idempotency_keys WHERE idem_key = $1 AND fingerprint = $2 AND status = 0`,
		key, fingerprint)
	return err
}

// PurgeIdempotencyKeys deletes up to limit expired keys and returns how many
// it deleted; call it again while it returns limit.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, limit int) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM idempotency_keys WHERE idem_key IN
		(SELECT idem_key FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2)`, millis(time.Now()), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// exec runs one write statement outside any transaction, prepared once the
// cache has it.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := db.stmts.lookup(query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	res, err := db.write.ExecContext(ctx, query, args...)
	if db.stmts.hasPending() {
		db.stmts.prepare(ctx, db.write)
	}
	return res, err
}
