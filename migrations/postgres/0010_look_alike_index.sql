-- A new ticket reads its newest look-alikes (latest created first, then highest number). With the number in the
-- index that is a short walk backwards along it, instead of reading and sorting every look-alike of the window.
DROP INDEX tickets_fingerprint;
CREATE INDEX tickets_fingerprint ON tickets (fingerprint, created_at, number);
