-- A line's usage in a cycle is derived from its records (one source of truth):
-- each record keeps the meter rating counted it on. cycle_usage keeps only what
-- records cannot tell, the thresholds fired, and is written when they change.
ALTER TABLE usage_records ADD COLUMN meter TEXT;
