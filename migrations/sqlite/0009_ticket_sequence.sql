-- Nothing to change on SQLite: the process hands out ticket numbers after the highest stored one, and each commit
-- that inserts a ticket raises the `ticket` counter. (PostgreSQL moves to a sequence in this migration.)
SELECT 1;
