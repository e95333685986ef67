-- What the reports need of each ticket (category, clocks, resolutions, reopens, replies, breaches, CSAT…) as one
-- small JSON value written with the ticket, so a report over a busy year reads these instead of every ticket's
-- full JSON and event log. NULL for tickets written before this column existed (reports read their events).
ALTER TABLE tickets ADD COLUMN facts TEXT;
