-- Per-conversation state that must survive a restart: runbook walkthroughs (and later other flows). `deadline`
-- is when the scheduler must look at the conversation again (a step timeout), indexed like timers.
CREATE TABLE conversations (
    key        TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    ticket     BIGINT,
    data       TEXT NOT NULL,
    deadline   BIGINT,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL
);
CREATE INDEX conversations_owner ON conversations (owner, updated_at);
CREATE INDEX conversations_ticket ON conversations (ticket);
CREATE INDEX conversations_deadline ON conversations (deadline);
