-- Notifications: fired thresholds per cycle, alert settings per line, and the
-- transactional outbox (written in the same transaction as the usage).
ALTER TABLE cycle_usage ADD COLUMN fired TEXT NOT NULL DEFAULT '[]';

CREATE TABLE line_alerts (
    line_id     TEXT PRIMARY KEY REFERENCES lines (id),
    rules       TEXT NOT NULL,
    channels    TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT
);

CREATE TABLE outbox (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    sender           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT,
    text             TEXT NOT NULL,
    line_id          TEXT,
    rule             TEXT,
    created_at       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    sent_at          TEXT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_line ON outbox (line_id, seq);
CREATE INDEX outbox_recipient ON outbox (recipient, seq);
