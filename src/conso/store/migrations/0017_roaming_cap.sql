-- The roaming data cap of the EU bill-shock rule (rules.md): on for every line unless
-- switched off, and continued past for the rest of one cycle (the start date of that
-- cycle, ISO 8601) when the user chose to go on roaming with data.
ALTER TABLE lines ADD COLUMN roaming_cap_off INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN roaming_continued TEXT;
