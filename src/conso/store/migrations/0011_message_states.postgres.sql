-- Delivery states from the SMS centre's receipts (delivered, undeliverable, expired,
-- deleted), when each status changed, the HTML part of an e-mail, and the SMSC's id of
-- every part sent, so a receipt finds its message.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_known CHECK (
    status IN ('queued', 'sending', 'sent', 'delivered', 'undeliverable', 'expired',
               'deleted', 'failed'));
ALTER TABLE outbox ADD COLUMN html TEXT;
ALTER TABLE outbox ADD COLUMN status_changed_at TEXT;
UPDATE outbox SET status_changed_at = COALESCE(sent_at, created_at);

CREATE TABLE outbox_events (
    seq         BIGSERIAL PRIMARY KEY,
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
