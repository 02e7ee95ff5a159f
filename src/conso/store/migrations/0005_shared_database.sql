-- Several processes on one database (API nodes and stream workers, PostgreSQL):
-- the last stream sequence applied per partition, written in the same transaction
-- as the records it carried, so that a message is applied once whatever crashes.
CREATE TABLE stream_offsets (
    part        INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX cc_sessions_line ON cc_sessions (line_id, status);
