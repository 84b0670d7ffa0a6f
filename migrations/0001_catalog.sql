-- target: catalog
-- The catalog: API keys, secrets, cluster settings, membership, the shard map and the leader lease.

CREATE TABLE api_keys (
    id          bigserial   PRIMARY KEY,
    role        text        NOT NULL CHECK (role IN ('sensor', 'admin')),
    namespace   text        NOT NULL DEFAULT 'default',
    -- SHA-256 of the key's canonical "<namespace>:<uuid>" text; the key itself is never stored.
    key_hash    bytea       NOT NULL UNIQUE,
    label       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Generated secrets such as the token signing key.
CREATE TABLE secrets (
    name        text        PRIMARY KEY,
    value       bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Settings fixed when the cluster is created (shard_count, shard_hash).
CREATE TABLE cluster_settings (
    name        text        PRIMARY KEY,
    value       text        NOT NULL
);

CREATE TABLE members (
    id              text        PRIMARY KEY,
    role            text        NOT NULL CHECK (role IN ('worker', 'gateway', 'coordinator')),
    address         text        NOT NULL DEFAULT '',
    incarnation     bigint      NOT NULL,
    state           text        NOT NULL CHECK (state IN ('joining', 'active', 'draining', 'gone')),
    started_at      timestamptz NOT NULL DEFAULT now(),
    last_heartbeat  timestamptz NOT NULL
);

CREATE TABLE shard_map (
    shard              integer PRIMARY KEY,
    owner              text,
    owner_incarnation  bigint,
    epoch              bigint  NOT NULL DEFAULT 0,
    placement          integer NOT NULL DEFAULT 0
);

CREATE TABLE shard_map_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint  NOT NULL
);
INSERT INTO shard_map_version (singleton, version) VALUES (true, 0);

CREATE TABLE leader_lease (
    name         text        PRIMARY KEY,
    holder       text        NOT NULL,
    acquired_at  timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
