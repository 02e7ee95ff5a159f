-- Network control: barring and spending limit per line, an audit trail of
-- admin actions, and credit-control sessions with their reservations.
ALTER TABLE lines ADD COLUMN barred TEXT NOT NULL DEFAULT '[]';
ALTER TABLE lines ADD COLUMN spending_limit_micros INTEGER;

CREATE TABLE audit_log (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    line_id  TEXT,
    action   TEXT NOT NULL,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_log_line ON audit_log (line_id, seq);

CREATE TABLE cc_sessions (
    id              TEXT PRIMARY KEY,
    line_id         TEXT NOT NULL,
    service         TEXT NOT NULL,
    direction       TEXT NOT NULL,
    country         TEXT NOT NULL,
    reserved        INTEGER NOT NULL,
    granted_total   INTEGER NOT NULL,
    used_total      INTEGER NOT NULL,
    charged_micros  INTEGER NOT NULL,
    reports         INTEGER NOT NULL,
    last_request    INTEGER,
    last_answer     TEXT,
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed', 'expired')),
    opened_at       TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    closed_at       TEXT
);
CREATE INDEX cc_sessions_open ON cc_sessions (status, line_id);
