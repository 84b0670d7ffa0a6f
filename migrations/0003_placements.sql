-- target: catalog
-- Placement databases of a cluster, fixed at its creation. Shard s lives in placement
-- (s mod count); shard_map.placement records it. A NULL url is the catalog database itself
-- (all-in-one, or a cluster created without --placement).

CREATE TABLE placements (
    id    integer PRIMARY KEY CHECK (id >= 0),
    name  text    NOT NULL UNIQUE,
    url   text
);
