-- Outbox rows of any channel a front end registers: pushes to the network (Diameter
-- re-authorization, Nchf notify) are outbox rows too, not only SMS and e-mail.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_named CHECK (channel <> '');
