-- target: placement
-- A placement: fencing epochs, nodes, current state per entity kind, pending commands.

-- The epoch each shard's owner holds; every data transaction checks it (fencing).
CREATE TABLE shard_epochs (
    shard  integer PRIMARY KEY,
    epoch  bigint  NOT NULL
);

CREATE TABLE nodes (
    node_id         text        PRIMARY KEY,
    shard           integer     NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('host', 'kubernetes_cluster')),
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    online          boolean     NOT NULL,
    offline_since   timestamptz,
    last_report_id  text,
    last_report_at  timestamptz,
    beat_rate       integer     NOT NULL
);
CREATE INDEX nodes_by_shard ON nodes (shard);
CREATE INDEX nodes_by_kind ON nodes (kind, node_id);

-- One current-state table per entity kind. Every row is one entity as the node last reported
-- it: its key (XXH64 of the ID), the digest of its stable content, and its JSON body. Columns
-- for querying are generated from the body and never fail on odd input.
CREATE TABLE hosts (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name            text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    os              text GENERATED ALWAYS AS (body->'metadata'->>'os') STORED,
    kernel_version  text GENERATED ALWAYS AS (body->'metadata'->>'kernel_version') STORED,
    agent_version   text GENERATED ALWAYS AS (body->'metadata'->>'version') STORED,
    cloud_provider  text GENERATED ALWAYS AS (body->'metadata'->>'cloud_provider') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE processes (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name          text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    pid           integer GENERATED ALWAYS AS (
                      CASE WHEN body->'metadata'->>'pid' ~ '^[0-9]{1,9}$'
                           THEN (body->'metadata'->>'pid')::integer END) STORED,
    ppid          integer GENERATED ALWAYS AS (
                      CASE WHEN body->'metadata'->>'ppid' ~ '^[0-9]{1,9}$'
                           THEN (body->'metadata'->>'ppid')::integer END) STORED,
    cmdline       text GENERATED ALWAYS AS (body->'metadata'->>'cmdline') STORED,
    container_id  text GENERATED ALWAYS AS (body->'parents'->>'container') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE containers (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name      text GENERATED ALWAYS AS (body->'metadata'->>'docker_container_name') STORED,
    image_id  text GENERATED ALWAYS AS (body->'metadata'->>'docker_image_id') STORED,
    state     text GENERATED ALWAYS AS (body->'metadata'->>'docker_container_state') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE container_images (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name        text GENERATED ALWAYS AS (body->'metadata'->>'docker_image_name_with_tag') STORED,
    image_name  text GENERATED ALWAYS AS (body->'metadata'->>'docker_image_name') STORED,
    image_tag   text GENERATED ALWAYS AS (body->'metadata'->>'docker_image_tag') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE pods (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name        text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    namespace   text GENERATED ALWAYS AS (body->'metadata'->>'kubernetes_namespace') STORED,
    cluster_id  text GENERATED ALWAYS AS (body->'metadata'->>'kubernetes_cluster_id') STORED,
    state       text GENERATED ALWAYS AS (body->'metadata'->>'kubernetes_state') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE services (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name        text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    namespace   text GENERATED ALWAYS AS (body->'metadata'->>'kubernetes_namespace') STORED,
    cluster_id  text GENERATED ALWAYS AS (body->'metadata'->>'kubernetes_cluster_id') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE namespaces (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name        text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    cluster_id  text GENERATED ALWAYS AS (body->'metadata'->>'kubernetes_cluster_id') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE kubernetes_clusters (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name        text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE cloud_providers (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name        text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE cloud_regions (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    name            text GENERATED ALWAYS AS (body->'metadata'->>'node_name') STORED,
    cloud_provider  text GENERATED ALWAYS AS (body->'metadata'->>'cloud_provider') STORED,
    PRIMARY KEY (node_id, entity_key)
);

CREATE TABLE endpoints (
    node_id     text        NOT NULL,
    entity_key  bigint      NOT NULL,
    entity_id   text        NOT NULL,
    digest      bigint      NOT NULL,
    body        jsonb       NOT NULL,
    first_seen  timestamptz NOT NULL,
    changed_at  timestamptz NOT NULL,
    pid         integer GENERATED ALWAYS AS (
                    CASE WHEN body->'metadata'->>'pid' ~ '^[0-9]{1,9}$'
                         THEN (body->'metadata'->>'pid')::integer END) STORED,
    host_name   text GENERATED ALWAYS AS (body->'metadata'->>'host_name') STORED,
    PRIMARY KEY (node_id, entity_key)
);

-- An endpoint's adjacency: source endpoint → destination endpoint.
CREATE TABLE connections (
    node_id      text        NOT NULL,
    entity_key   bigint      NOT NULL,
    source       text        NOT NULL,
    destination  text        NOT NULL,
    first_seen   timestamptz NOT NULL,
    PRIMARY KEY (node_id, entity_key)
);

-- Commands queued for a node; delivered_at is set in the same transaction that hands them out.
CREATE TABLE node_commands (
    id               bigserial   PRIMARY KEY,
    node_id          text        NOT NULL,
    shard            integer     NOT NULL,
    action_id        integer     NOT NULL,
    request_payload  text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX node_commands_pending ON node_commands (shard, node_id) WHERE delivered_at IS NULL;
CREATE INDEX node_commands_by_node ON node_commands (node_id, id);

-- The change log and the metric samples are partitioned by day (entity_changes_YYYYMMDD,
-- metric_samples_YYYYMMDD); workers create partitions ahead and drop those past retention.
CREATE TABLE entity_changes (
    changed_at  timestamptz NOT NULL,
    node_id     text        NOT NULL,
    kind        text        NOT NULL,
    entity_id   text        NOT NULL,
    change      text        NOT NULL CHECK (change IN ('appeared', 'changed', 'vanished'))
) PARTITION BY RANGE (changed_at);
CREATE INDEX entity_changes_by_node ON entity_changes (node_id, changed_at);

-- One row per node per sample interval: the volatile metrics of every entity that carries them.
CREATE TABLE metric_samples (
    sampled_at  timestamptz NOT NULL,
    node_id     text        NOT NULL,
    metrics     jsonb       NOT NULL
) PARTITION BY RANGE (sampled_at);
CREATE INDEX metric_samples_by_node ON metric_samples (node_id, sampled_at);
