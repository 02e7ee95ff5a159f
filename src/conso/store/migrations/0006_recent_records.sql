-- New records land in usage_recent first: a table with no per-line index, so a
-- batch's commit appends a few pages instead of dirtying one random page of the
-- (line_id, cycle_start) index per record. The SQLite store moves them into
-- usage_records in line order, many thousands at a time, on a background thread
-- (store/sqlite.py); reads see both tables in one statement. PostgreSQL writes
-- straight to usage_records and leaves this table empty.
CREATE TABLE usage_recent (
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
    received_at   TEXT NOT NULL,
    meter         TEXT
);
