-- target: catalog
-- A record of each published shard map: when, by which coordinator, and how many shards went
-- from which owner to which (NULL: no owner). The web console's cluster page lists the recent
-- ones, so a failover (shards from a dead worker to the others) or a rebalance after a worker
-- joined can be seen after the fact. The coordinator keeps the newest 500 versions.
CREATE TABLE map_changes (
    version       bigint      PRIMARY KEY,
    published_at  timestamptz NOT NULL DEFAULT now(),
    leader        text        NOT NULL,
    moves         jsonb       NOT NULL
);
