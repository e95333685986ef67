-- What chat adapters must remember between events and across replicas: the message id of a ticket's card (to
-- update it in place), a Teams conversation reference (for proactive messages), a cached display name.
CREATE TABLE platform_refs (
    platform   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (platform, key)
);

-- Named leases: work that one replica at a time may do (the Discord gateway connection). A holder renews its
-- lease before `until`; when it dies, another replica takes the lease once `until` has passed.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);
