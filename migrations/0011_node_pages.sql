-- target: placement
-- The operator's node pages walk nodes in byte order of their IDs (the cursor's order, the same
-- under every database locale) with a kind or liveness filter, and a search by ID prefix is a
-- range in that order. These indexes serve each such page from an index range instead of
-- sorting every node again per page (at 100,000 nodes, a sort of the whole table per request).
-- The change log's index adds the entity's kind, so a node's timeline filtered by kind reads
-- only its own rows.
CREATE INDEX nodes_by_id_bytes ON nodes ((node_id COLLATE "C"));
CREATE INDEX nodes_by_kind_bytes ON nodes (kind, (node_id COLLATE "C"));
CREATE INDEX nodes_by_online_bytes ON nodes (online, (node_id COLLATE "C"));
CREATE INDEX entity_changes_by_node_kind ON entity_changes (node_id, kind, changed_at);
-- A search by prefix also finds Kubernetes clusters by name (their node IDs are cluster IDs).
CREATE INDEX kubernetes_clusters_by_name_bytes ON kubernetes_clusters ((name COLLATE "C"));
-- The overview's newest nodes and the nodes that went silent most recently.
CREATE INDEX nodes_by_first_seen ON nodes (first_seen);
CREATE INDEX nodes_by_offline_since ON nodes (offline_since) WHERE NOT online;
