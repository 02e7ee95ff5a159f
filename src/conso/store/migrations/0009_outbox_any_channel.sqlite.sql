-- Outbox rows of any channel a front end registers: pushes to the network (Diameter
-- re-authorization, Nchf notify) are outbox rows too, not only SMS and e-mail.
-- SQLite cannot drop a CHECK: the table is rebuilt, rows and sequence kept.
CREATE TABLE outbox_rebuilt (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL CHECK (channel <> ''),
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
INSERT INTO outbox_rebuilt (seq, id, channel, sender, recipient, subject, text, line_id,
                            rule, created_at, status, attempts, next_attempt_at, sent_at,
                            last_error)
    SELECT seq, id, channel, sender, recipient, subject, text, line_id, rule, created_at,
           status, attempts, next_attempt_at, sent_at, last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_line ON outbox (line_id, seq);
CREATE INDEX outbox_recipient ON outbox (recipient, seq);
