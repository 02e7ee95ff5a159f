-- A line may name its SIM's IMSI: Diameter (END_USER_IMSI) and Nchf (SUPI imsi-...)
-- requests name the subscriber by it. Unique; lines without one are many.
ALTER TABLE lines ADD COLUMN imsi TEXT;
CREATE UNIQUE INDEX lines_imsi ON lines (imsi);
