-- Tickets, their append-only events, inbound dedupe keys and the outbox. Times are Unix milliseconds (UTC).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket', 0);

CREATE TABLE tickets (
    number             BIGINT PRIMARY KEY,
    state              TEXT NOT NULL,
    category           TEXT NOT NULL,
    priority           TEXT NOT NULL,
    ticket_type        TEXT NOT NULL,
    requester          TEXT NOT NULL,
    owner              TEXT,
    origin_platform    TEXT NOT NULL,
    origin_channel     TEXT NOT NULL,
    origin_thread      TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    first_response_due BIGINT,
    resolution_due     BIGINT,
    first_response_at  BIGINT,
    resolved_at        BIGINT,
    deflected          BOOLEAN NOT NULL DEFAULT FALSE,
    version            BIGINT NOT NULL,
    data               TEXT NOT NULL
);
CREATE INDEX tickets_state ON tickets (state, number);
CREATE INDEX tickets_owner ON tickets (owner, state);
CREATE INDEX tickets_requester ON tickets (requester, state);
CREATE INDEX tickets_thread ON tickets (origin_platform, origin_channel, origin_thread);
CREATE INDEX tickets_created ON tickets (created_at);

CREATE TABLE ticket_events (
    id     BIGSERIAL PRIMARY KEY,
    ticket BIGINT NOT NULL REFERENCES tickets (number),
    at     BIGINT NOT NULL,
    actor  TEXT,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket, id);

CREATE TABLE inbound_events (
    dedupe_key  TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    platform        TEXT NOT NULL,
    conversation    TEXT NOT NULL,
    ticket          BIGINT,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    leased_until    BIGINT,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);
CREATE INDEX outbox_conversation ON outbox (conversation, status, id);
