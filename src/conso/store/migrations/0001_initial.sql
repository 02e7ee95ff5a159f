-- The first schema: accounts, users, lines and their plan history, usage
-- records (the idempotency key is their id), rejected records, per-cycle usage,
-- login tokens.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('business', 'residential')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE users (
    login          TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    email          TEXT,
    language       TEXT NOT NULL CHECK (language IN ('en', 'fr', 'nl')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX users_account ON users (account_id);

CREATE TABLE lines (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    user_login  TEXT REFERENCES users (login),
    cycle_day   INTEGER NOT NULL CHECK (cycle_day BETWEEN 1 AND 28),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX lines_account ON lines (account_id);
CREATE INDEX lines_user ON lines (user_login);

CREATE TABLE line_plans (
    line_id         TEXT NOT NULL REFERENCES lines (id),
    effective_from  TEXT NOT NULL,
    plan            TEXT NOT NULL,
    PRIMARY KEY (line_id, effective_from)
);

CREATE TABLE usage_records (
    id            TEXT PRIMARY KEY,
    line_id       TEXT NOT NULL,
    cycle_start   TEXT NOT NULL,
    service       TEXT NOT NULL,
    direction     TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    amount_micros INTEGER NOT NULL,
    country       TEXT NOT NULL,
    at            TEXT NOT NULL,
    charge_micros INTEGER NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE INDEX usage_records_line_cycle ON usage_records (line_id, cycle_start);

-- Records that failed validation, kept with their reason so that nothing the
-- network sent is lost: the operator can inspect, correct and re-send them.
CREATE TABLE rejected_records (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id    TEXT,
    payload      TEXT NOT NULL,
    error        TEXT NOT NULL,
    received_at  TEXT NOT NULL
);

CREATE TABLE cycle_usage (
    line_id       TEXT NOT NULL,
    cycle_start   TEXT NOT NULL,
    meters        TEXT NOT NULL,
    spend_micros  INTEGER NOT NULL,
    records       INTEGER NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (line_id, cycle_start)
);

CREATE TABLE auth_tokens (
    token_hash  TEXT PRIMARY KEY,
    login       TEXT NOT NULL REFERENCES users (login),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX auth_tokens_login ON auth_tokens (login);
