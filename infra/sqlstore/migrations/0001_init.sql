-- Portable between SQLite and PostgreSQL: times are Unix milliseconds, flags are integers.
CREATE TABLE IF NOT EXISTS inbox (
    consumer_group TEXT   NOT NULL,
    event_id       TEXT   NOT NULL,
    processed_at   BIGINT NOT NULL,
    PRIMARY KEY (consumer_group, event_id)
);

CREATE TABLE IF NOT EXISTS movies (
    id         TEXT PRIMARY KEY,
    title      TEXT,
    year       INTEGER,
    genres     TEXT,
    created    INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0,
    views      BIGINT  NOT NULL DEFAULT 0,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS movies_by_views ON movies (views DESC, id);

CREATE TABLE IF NOT EXISTS views (
    event_id        TEXT PRIMARY KEY,
    movie_id        TEXT   NOT NULL,
    user_id         TEXT   NOT NULL,
    watched_seconds BIGINT NOT NULL,
    viewed_at       BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS movie_stats (
    movie_id        TEXT PRIMARY KEY,
    views           BIGINT NOT NULL DEFAULT 0,
    unique_viewers  BIGINT NOT NULL DEFAULT 0,
    watched_seconds BIGINT NOT NULL DEFAULT 0,
    likes           BIGINT NOT NULL DEFAULT 0,
    rating_sum      BIGINT NOT NULL DEFAULT 0,
    rating_count    BIGINT NOT NULL DEFAULT 0,
    last_viewed_at  BIGINT
);

CREATE TABLE IF NOT EXISTS movie_viewers (
    movie_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (movie_id, user_id)
);

CREATE TABLE IF NOT EXISTS movie_likes (
    movie_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (movie_id, user_id)
);

CREATE TABLE IF NOT EXISTS movie_ratings (
    movie_id TEXT    NOT NULL,
    user_id  TEXT    NOT NULL,
    rating   INTEGER NOT NULL,
    PRIMARY KEY (movie_id, user_id)
);

CREATE TABLE IF NOT EXISTS user_actions (
    event_id TEXT PRIMARY KEY,
    user_id  TEXT   NOT NULL,
    type     TEXT   NOT NULL,
    movie_id TEXT,
    rating   INTEGER,
    query    TEXT,
    at       BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS user_stats (
    user_id TEXT PRIMARY KEY,
    views   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS user_action_counts (
    user_id TEXT   NOT NULL,
    type    TEXT   NOT NULL,
    count   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, type)
);

CREATE TABLE IF NOT EXISTS deliveries (
    id               TEXT PRIMARY KEY,
    user_id          TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    error            TEXT    NOT NULL,
    requested_at     BIGINT  NOT NULL,
    first_attempt_at BIGINT  NOT NULL,
    last_attempt_at  BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_user ON deliveries (user_id, requested_at);
