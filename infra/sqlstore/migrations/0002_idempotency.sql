-- Idempotency-Key claims and the answers given to them (see infra/sqlstore/idempotency.go).
-- Portable between SQLite and PostgreSQL: times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    idem_key     TEXT    PRIMARY KEY,
    fingerprint  TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    locked_until BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_keys_by_expiry ON idempotency_keys (expires_at);
