-- The dead-letter index and replays (see ops and infra/sqlstore/deadletters.go).
-- Portable between SQLite and PostgreSQL: times are Unix milliseconds, flags
-- are integers, bytes are BYTEA (a blob in SQLite).
CREATE TABLE dead_letters (
    consumer_group     TEXT    NOT NULL,
    dlq_partition      INTEGER NOT NULL,
    dlq_offset         BIGINT  NOT NULL,
    dead_lettered_at   BIGINT  NOT NULL,
    original_topic     TEXT    NOT NULL,
    original_partition INTEGER NOT NULL,
    original_offset    BIGINT  NOT NULL,
    original_timestamp BIGINT,
    handler            TEXT    NOT NULL,
    error              TEXT    NOT NULL,
    error_class        TEXT    NOT NULL,
    attempts           INTEGER NOT NULL,
    first_failure      BIGINT,
    last_failure       BIGINT,
    event_id           TEXT    NOT NULL,
    event_type         TEXT    NOT NULL,
    event_source       TEXT    NOT NULL,
    correlation_id     TEXT    NOT NULL,
    replay_count       INTEGER NOT NULL,
    from_replay        TEXT,
    truncated          INTEGER NOT NULL,
    record_key         BYTEA,
    headers            BYTEA   NOT NULL,
    payload            BYTEA   NOT NULL,
    payload_size       BIGINT  NOT NULL,
    status             TEXT    NOT NULL,
    replay_id          TEXT,
    resolved_at        BIGINT,
    resolved_by        TEXT,
    reason             TEXT,
    PRIMARY KEY (consumer_group, dlq_partition, dlq_offset)
);
CREATE INDEX dead_letters_by_time ON dead_letters (consumer_group, dead_lettered_at);
CREATE INDEX dead_letters_by_status ON dead_letters (consumer_group, status, dead_lettered_at);
-- Covers the summaries, so they never read the rows (and their payloads).
CREATE INDEX dead_letters_summary ON dead_letters (consumer_group, status, handler, error_class, dead_lettered_at);
CREATE INDEX dead_letters_by_replay ON dead_letters (replay_id, status);
CREATE INDEX dead_letters_by_origin ON dead_letters (from_replay);

CREATE TABLE replays (
    id             TEXT   PRIMARY KEY,
    consumer_group TEXT   NOT NULL,
    filter         TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    total          BIGINT NOT NULL,
    skipped        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    finished_at    BIGINT,
    lease_owner    TEXT   NOT NULL,
    lease_until    BIGINT NOT NULL
);
CREATE INDEX replays_by_status ON replays (status, lease_until);
