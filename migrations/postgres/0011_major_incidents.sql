-- Major incidents: a new report looks for an active major incident of its kind on every message that opens a
-- ticket, so the flag is a column with an index of its own (a handful of rows) instead of a scan of every ticket's
-- JSON. The kind (category and intent), the affected people and a child's parent stay in the ticket's JSON.
ALTER TABLE tickets ADD COLUMN major BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX tickets_major ON tickets (state) WHERE major = TRUE;
-- A thank-you after a resolution looks for the person's recently resolved tickets.
CREATE INDEX tickets_requester_resolved ON tickets (requester, resolved_at);
