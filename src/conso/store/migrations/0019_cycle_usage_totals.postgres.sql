-- A line's usage in a cycle is its cycle_usage row: usage by meter (`meters`, JSON
-- {"<meter>": N}), spend, record count, thresholds fired and network overshoot, written
-- in the transaction of every command that changes them (engine/uow.py, `flush`), so that
-- loading it is one indexed row per (line, cycle), however many records the cycle has.
-- The columns are there since 0001; until now the row was written only when its fired
-- thresholds changed and its totals were summed from the records at every load (plus
-- pruned_cycles' totals since 0018). Here every row's totals are made exactly that sum,
-- once (one pass over usage_records, at `conso migrate`), with the totals of what
-- `conso prune` removed. A (line, cycle) with records but no row gets one; a row with
-- neither records nor pruned totals counts nothing. pruned_cycles stays as the mark of a
-- cycle whose itemised records were pruned; its totals are no longer added at load.
-- (See the SQLite migration of the same number, which also reads usage_recent: this
-- database writes straight to usage_records.)
UPDATE cycle_usage SET meters = '{}', spend_micros = 0, records = 0;

WITH counted (line_id, cycle_start, meter, quantity, spend, records) AS (
    SELECT line_id, cycle_start, meter, quantity, charge_micros, 1 FROM usage_records
    UNION ALL
    SELECT p.line_id, p.cycle_start, j.key, CAST(j.value AS BIGINT), 0, 0
      FROM pruned_cycles p, json_each_text(CAST(p.meters AS json)) j
    UNION ALL
    SELECT line_id, cycle_start, NULL, 0, spend_micros, records FROM pruned_cycles
), by_meter (line_id, cycle_start, meter, quantity, spend, records) AS (
    SELECT line_id, cycle_start, meter, SUM(quantity), SUM(spend), SUM(records)
      FROM counted GROUP BY line_id, cycle_start, meter
)
INSERT INTO cycle_usage (line_id, cycle_start, meters, spend_micros, records, updated_at)
SELECT line_id, cycle_start,
       COALESCE(CAST(json_object_agg(meter, CAST(quantity AS BIGINT))
                     FILTER (WHERE meter IS NOT NULL AND meter <> '') AS TEXT), '{}'),
       CAST(SUM(spend) AS BIGINT), CAST(SUM(records) AS BIGINT),
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
  FROM by_meter GROUP BY line_id, cycle_start
ON CONFLICT (line_id, cycle_start) DO UPDATE SET meters = excluded.meters,
    spend_micros = excluded.spend_micros, records = excluded.records,
    updated_at = excluded.updated_at;
