-- A line's records of a cycle in time order: the itemised list (GET /lines/{line}/records
-- and its CSV) pages through them by keyset, (at, id) after the last one shown, which
-- this index answers without sorting the cycle at every page. It replaces the index on
-- (line_id, cycle_start), of which it is an extension: every query that used that one
-- uses this one, and a record still updates one index. The charge of each record is
-- kept already (usage_records.charge_micros, since 0001): no column to add.
CREATE INDEX usage_records_line_cycle_at ON usage_records (line_id, cycle_start, at, id);
DROP INDEX usage_records_line_cycle;
