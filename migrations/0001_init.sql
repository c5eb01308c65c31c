-- Alerts: every accepted alert, durable before the API answers.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL,          -- display order within a class (bumped on replay)
    kind            TEXT NOT NULL,
    from_name       TEXT NOT NULL,
    amount          REAL,
    currency        TEXT,
    message         TEXT,
    platform        TEXT,
    received_at     TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    -- queued | held | showing | shown | skipped | cleared | rejected | filtered
    state           TEXT NOT NULL,
    replay          INTEGER NOT NULL DEFAULT 0,
    shown_at        TEXT
);
CREATE INDEX alerts_by_state ON alerts (state, seq);

-- Small durable flags (e.g. the alert queue's paused flag).
CREATE TABLE flags (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Stream history.
CREATE TABLE streams (
    uuid       TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    ended_by   TEXT,                           -- stopped | source_lost | crashed
    backend    TEXT NOT NULL,
    platforms  TEXT NOT NULL DEFAULT '{}'      -- JSON: name → {outcome, reconnects, bytes_sent}
);
CREATE TABLE stream_samples (
    stream_uuid  TEXT NOT NULL REFERENCES streams (uuid),
    at           TEXT NOT NULL,
    platform     TEXT NOT NULL,
    bitrate_kbps INTEGER,
    bytes_sent   INTEGER
);
CREATE INDEX samples_by_stream ON stream_samples (stream_uuid, at);
CREATE TABLE stream_events (
    stream_uuid TEXT NOT NULL REFERENCES streams (uuid),
    at          TEXT NOT NULL,
    platform    TEXT,
    kind        TEXT NOT NULL,                 -- live | retrying | failed | stopped | disabled ...
    detail      TEXT
);
CREATE INDEX events_by_stream ON stream_events (stream_uuid, at);
