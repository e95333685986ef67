-- One active ticket per alert group. Notifications of one group that arrive at once (an HA Alertmanager pair, a
-- parallel RMM script) are handled one after the other within a process; this index stops two replicas from both
-- opening a ticket for the group. The store writes the group's key when it inserts an active ticket raised by
-- monitoring and clears it once the ticket is no longer active; tickets stored before this have none (so
-- duplicates opened before cannot block updates to them). NULLs do not clash.
ALTER TABLE tickets ADD COLUMN alert_group TEXT;
CREATE UNIQUE INDEX tickets_alert_group ON tickets (alert_group);
