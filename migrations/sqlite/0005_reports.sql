-- Reports select tickets with activity in a period by updated_at.
CREATE INDEX tickets_updated ON tickets (updated_at);
