-- A line's usage in a cycle is derived from its records (one source of truth):
-- each record keeps the meter rating counted it on. cycle_usage keeps only what
-- records cannot tell, the thresholds fired, and is written when they change.
-- (Since 0019 a cycle's usage is its cycle_usage row, written with the records.)
ALTER TABLE usage_records ADD COLUMN meter TEXT;
