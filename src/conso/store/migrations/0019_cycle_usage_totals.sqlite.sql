-- A line's usage in a cycle is its cycle_usage row: usage by meter (`meters`, JSON
-- {"<meter>": N}), spend, record count, thresholds fired and network overshoot, written
-- in the transaction of every command that changes them (engine/uow.py, `flush`), so that
-- loading it is one indexed row per (line, cycle), however many records the cycle has.
-- The columns are there since 0001; until now the row was written only when its fired
-- thresholds changed and its totals were summed from the records at every load (plus
-- pruned_cycles' totals since 0018). Here every row's totals are made exactly that sum,
-- once: records merged, records still in usage_recent (but not those a merge cut short
-- has copied already: merge_progress, as the store's reads say), and the totals of what
-- `conso prune` removed. A (line, cycle) with records but no row gets one; a row with
-- neither records nor pruned totals counts nothing. pruned_cycles stays as the mark of a
-- cycle whose itemised records were pruned; its totals are no longer added at load.
-- (PostgreSQL's migration of the same number does the same with its JSON functions.)
UPDATE cycle_usage SET meters = '{}', spend_micros = 0, records = 0;

WITH counted (line_id, cycle_start, meter, quantity, spend, records) AS (
    SELECT line_id, cycle_start, meter, quantity, charge_micros, 1 FROM usage_records
    UNION ALL
    SELECT r.line_id, r.cycle_start, r.meter, r.quantity, r.charge_micros, 1
      FROM usage_recent r, merge_progress m
     WHERE m.id = 1 AND NOT (r.rowid <= m.upto AND r.line_id < m.below)
    UNION ALL
    SELECT p.line_id, p.cycle_start, j.key, j.value, 0, 0
      FROM pruned_cycles p, json_each(p.meters) j
    UNION ALL
    SELECT line_id, cycle_start, NULL, 0, spend_micros, records FROM pruned_cycles
), by_meter (line_id, cycle_start, meter, quantity, spend, records) AS (
    SELECT line_id, cycle_start, meter, SUM(quantity), SUM(spend), SUM(records)
      FROM counted GROUP BY line_id, cycle_start, meter
)
INSERT INTO cycle_usage (line_id, cycle_start, meters, spend_micros, records, updated_at)
SELECT line_id, cycle_start,
       json_group_object(meter, quantity) FILTER (WHERE meter IS NOT NULL AND meter <> ''),
       SUM(spend), SUM(records), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')
  FROM by_meter WHERE true GROUP BY line_id, cycle_start
ON CONFLICT (line_id, cycle_start) DO UPDATE SET meters = excluded.meters,
    spend_micros = excluded.spend_micros, records = excluded.records,
    updated_at = excluded.updated_at;

-- Where a commit's cycle rows land first: a table with no key, so that a batch appends
-- a few pages instead of dirtying one random page of cycle_usage's key per line it
-- touched (at 100,000 lines that upsert cost more than rating the record). The store
-- merges it into cycle_usage with usage_recent (sqlite.py), a line's last row here
-- winning; reads of a line that may have rows here look at both in one statement.
CREATE TABLE cycle_usage_recent (
    line_id       TEXT NOT NULL,
    cycle_start   TEXT NOT NULL,
    meters        TEXT NOT NULL,
    spend_micros  INTEGER NOT NULL,
    records       INTEGER NOT NULL,
    fired         TEXT NOT NULL,
    overshoot     TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
