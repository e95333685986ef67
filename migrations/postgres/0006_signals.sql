-- Operations signals (patch, backup, restore, baseline), idempotent by the sender's record id.
CREATE TABLE signals (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    ok      BOOLEAN NOT NULL,
    at      BIGINT NOT NULL,
    detail  TEXT
);
CREATE INDEX signals_at ON signals (at, kind);
