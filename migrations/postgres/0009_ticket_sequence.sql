-- Ticket numbers from a sequence: nextval needs no transaction (and no commit) of its own, and is unique across
-- replicas. It continues from the old counter or the highest stored ticket, whichever is higher.
CREATE SEQUENCE ticket_numbers;
SELECT setval('ticket_numbers',
              GREATEST((SELECT value FROM counters WHERE name = 'ticket'),
                       (SELECT COALESCE(MAX(number), 0) FROM tickets)) + 1,
              false);
