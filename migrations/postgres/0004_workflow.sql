-- Recurring issues (fingerprints and problem records) and triage corrections kept as training examples.
ALTER TABLE tickets ADD COLUMN fingerprint TEXT;
CREATE INDEX tickets_fingerprint ON tickets (fingerprint, created_at);

INSERT INTO counters (name, value) VALUES ('problem', 0);
CREATE TABLE problems (
    id          BIGINT PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT
);

CREATE TABLE training_examples (
    id         BIGINT PRIMARY KEY,
    text       TEXT NOT NULL,
    category   TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('training_example', 0);
