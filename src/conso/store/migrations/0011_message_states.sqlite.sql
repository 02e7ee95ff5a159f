-- Delivery states from the SMS centre's receipts (delivered, undeliverable, expired,
-- deleted), when each status changed, the HTML part of an e-mail, and the SMSC's id of
-- every part sent, so a receipt finds its message.
-- SQLite cannot change a CHECK: the table is rebuilt, rows and sequence kept.
CREATE TABLE outbox_rebuilt (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT NOT NULL UNIQUE,
    channel           TEXT NOT NULL CHECK (channel <> ''),
    sender            TEXT NOT NULL,
    recipient         TEXT NOT NULL,
    subject           TEXT,
    text              TEXT NOT NULL,
    line_id           TEXT,
    rule              TEXT,
    created_at        TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered',
                                                      'undeliverable', 'expired', 'deleted',
                                                      'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TEXT NOT NULL,
    sent_at           TEXT,
    last_error        TEXT,
    html              TEXT,
    status_changed_at TEXT
);
INSERT INTO outbox_rebuilt (seq, id, channel, sender, recipient, subject, text, line_id,
                            rule, created_at, status, attempts, next_attempt_at, sent_at,
                            last_error, status_changed_at)
    SELECT seq, id, channel, sender, recipient, subject, text, line_id, rule, created_at,
           status, attempts, next_attempt_at, sent_at, last_error,
           COALESCE(sent_at, created_at) FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_line ON outbox (line_id, seq);
CREATE INDEX outbox_recipient ON outbox (recipient, seq);

CREATE TABLE outbox_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX outbox_events_message ON outbox_events (message_id, seq);

CREATE TABLE sms_parts (
    smsc             TEXT NOT NULL,
    smsc_message_id  TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    part             INTEGER NOT NULL,
    state            TEXT NOT NULL,
    changed_at       TEXT NOT NULL,
    PRIMARY KEY (smsc, smsc_message_id)
);
CREATE INDEX sms_parts_message ON sms_parts (message_id);
