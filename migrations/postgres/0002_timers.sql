-- SLA warnings and breaches still ahead, indexed by when they fall due, so a scheduler sweep costs what is due,
-- not what is open. A row is replaced whenever its ticket changes and deleted when it fires.
CREATE TABLE timers (
    key     TEXT PRIMARY KEY,
    ticket  BIGINT NOT NULL,
    clock   TEXT NOT NULL,
    percent BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    due     BIGINT NOT NULL
);
CREATE INDEX timers_at ON timers (at, key);
CREATE INDEX timers_ticket ON timers (ticket);
