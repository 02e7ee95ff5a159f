-- Credit sessions hold a quota per rating group (domain/sessions.py): the quotas as
-- JSON (group -> service, direction, units, charge), the front end that opened the
-- session, and where that front end pushes re-authorization requests. The columns
-- from before keep the first quota's service and direction and the sums over quotas;
-- a row without quotas is read as one quota keyed by its service.
ALTER TABLE cc_sessions ADD COLUMN quotas TEXT;
ALTER TABLE cc_sessions ADD COLUMN origin TEXT NOT NULL DEFAULT 'http';
ALTER TABLE cc_sessions ADD COLUMN push_to TEXT;
