-- Months of records (`conso prune`, store/prune.py). The itemised records of a cycle
-- that ended long ago are deleted; what the history still answers about that cycle, its
-- usage by meter, spend and record count, is kept here first, in the same transaction
-- as the delete, summed from exactly the records deleted. A line's usage in a cycle is
-- then this row plus its records still stored (a record that came late, after the
-- prune). cycle_usage keeps the fired thresholds and the overshoot as before.
-- (Since 0019 a cycle's usage is its cycle_usage row alone, written with the records;
-- pruned_cycles marks the pruned cycles, its totals no longer added.)
-- (PostgreSQL's migration of the same number also partitions usage_records by month.)
CREATE TABLE pruned_cycles (
    line_id       TEXT NOT NULL,
    cycle_start   TEXT NOT NULL,
    meters        TEXT NOT NULL,
    spend_micros  INTEGER NOT NULL,
    records       INTEGER NOT NULL,
    pruned_at     TEXT NOT NULL,
    PRIMARY KEY (line_id, cycle_start)
);
