-- Months of records (`conso prune`, store/prune.py): usage_records becomes a table
-- partitioned by the month of its records' cycle (RANGE on cycle_start, ISO text: its
-- text order is date order), so that a month whose cycles are all pruned is dropped
-- whole. Nothing is copied: the table as it was becomes the DEFAULT partition (what no
-- month partition takes, so an insert never fails); the store creates the partitions
-- of the coming months itself (postgres.py, `ensure_partitions`, at migration and every
-- day), and the old rows leave the default partition as prune deletes them.
--
-- A unique index of a partitioned table must hold the partition key: the key is now
-- (id, cycle_start). A record sent again is the same record (same time, so the same
-- cycle) and is still refused by the database; the engine leaves stored ids out before
-- inserting (records_by_id), which is what tells an id reused with other content.
-- The old key on id alone is dropped (a partition's primary key must be the table's);
-- attaching builds the default partition's index on (id, cycle_start), which id lookups
-- use as well.
--
-- pruned_cycles keeps, for each (line, cycle) whose records were pruned, the totals of
-- what was pruned, written in the same transaction as the delete (see the SQLite
-- migration of the same number; since 0019 they are no longer added at load).
CREATE TABLE pruned_cycles (
    line_id       TEXT NOT NULL,
    cycle_start   TEXT NOT NULL,
    meters        TEXT NOT NULL,
    spend_micros  INTEGER NOT NULL,
    records       INTEGER NOT NULL,
    pruned_at     TEXT NOT NULL,
    PRIMARY KEY (line_id, cycle_start)
);

ALTER TABLE usage_records RENAME TO usage_records_default;
ALTER TABLE usage_records_default DROP CONSTRAINT usage_records_pkey;
ALTER INDEX usage_records_line_cycle_at RENAME TO usage_records_default_line_cycle_at;

CREATE TABLE usage_records (
    id            TEXT NOT NULL,
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
    meter         TEXT,
    PRIMARY KEY (id, cycle_start)
) PARTITION BY RANGE (cycle_start);
CREATE INDEX usage_records_line_cycle_at ON usage_records (line_id, cycle_start, at, id);
ALTER TABLE usage_records ATTACH PARTITION usage_records_default DEFAULT;
