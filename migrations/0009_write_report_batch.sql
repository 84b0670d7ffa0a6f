-- target: placement
-- A batch of reports is written by one call of write_report_batch: one statement, one round trip,
-- run as its own transaction (committed by the server when it processes the Sync that ends the
-- call, before the answer is sent), its statements planned once per database session by PL/pgSQL.
--
-- In order, as the worker wrote them statement by statement before:
--   1. the fence: the epochs of every shard in the batch are locked FOR SHARE and compared with
--      the ones the writer holds; any that moved raise SQLSTATE TM001, DETAIL the stale shards
--      (comma-separated): nothing is written;
--   2. the node rows, each moved only from the state_version its diff was made against; a row
--      past it raises SQLSTATE TM002, DETAIL the node IDs as a JSON array: nothing is written;
--   3. per entity kind: the vanished entities deleted, each logged 'vanished' in the change log,
--      then the appeared and changed ones upserted. The rows of every kind come in one set of
--      arrays ordered by kind (IngestCore's EntityKind raw values, 0 to 11); p_delete_from and
--      p_upsert_from hold 13 indexes (1-based): kind k's rows are [from[k + 1], from[k + 2]), so
--      each statement reads a slice of the arrays, not every row of the batch;
--   4. the appeared and changed entries of the change log; 5. the metric samples.
-- A row the database refuses for its data (SQLSTATE classes 22, 23) fails the whole call, as it
-- failed the whole transaction before. The function text is assembled here from the list of
-- entity tables that share one shape, so each table's two statements are written once.
DO $migration$
DECLARE
    -- EntityKind raw value → current-state table and change-log name (connections apart below).
    tables text[] := ARRAY['hosts', 'processes', 'containers', 'container_images', 'pods', 'services',
                           'namespaces', 'kubernetes_clusters', 'cloud_providers', 'cloud_regions', 'endpoints'];
    names  text[] := ARRAY['host', 'process', 'container', 'container_image', 'pod', 'service',
                           'namespace', 'kubernetes_cluster', 'cloud_provider', 'cloud_region', 'endpoint'];
    steps  text := '';
BEGIN
    FOR i IN 1 .. cardinality(tables) LOOP
        steps := steps || format($step$
    IF p_delete_from[%1$s + 2] > p_delete_from[%1$s + 1] THEN
        WITH gone AS (
            DELETE FROM %2$I t
            USING unnest(p_delete_nodes[p_delete_from[%1$s + 1]:p_delete_from[%1$s + 2] - 1],
                         p_delete_keys[p_delete_from[%1$s + 1]:p_delete_from[%1$s + 2] - 1]) AS u(node, key)
            WHERE t.node_id = u.node AND t.entity_key = u.key
            RETURNING t.node_id, t.entity_id)
        INSERT INTO entity_changes (changed_at, node_id, kind, entity_id, change)
        SELECT p_at, node_id, %3$L, entity_id, 'vanished' FROM gone;
    END IF;
    IF p_upsert_from[%1$s + 2] > p_upsert_from[%1$s + 1] THEN
        INSERT INTO %2$I AS t (node_id, entity_key, entity_id, digest, body, first_seen, changed_at)
        SELECT u.node, u.key, u.id, u.digest, u.body::jsonb, p_at, p_at
        FROM unnest(p_upsert_nodes[p_upsert_from[%1$s + 1]:p_upsert_from[%1$s + 2] - 1],
                    p_upsert_keys[p_upsert_from[%1$s + 1]:p_upsert_from[%1$s + 2] - 1],
                    p_upsert_ids[p_upsert_from[%1$s + 1]:p_upsert_from[%1$s + 2] - 1],
                    p_upsert_digests[p_upsert_from[%1$s + 1]:p_upsert_from[%1$s + 2] - 1],
                    p_upsert_bodies[p_upsert_from[%1$s + 1]:p_upsert_from[%1$s + 2] - 1])
             AS u(node, key, id, digest, body)
        ON CONFLICT (node_id, entity_key) DO UPDATE SET entity_id = EXCLUDED.entity_id,
            digest = EXCLUDED.digest, body = EXCLUDED.body, changed_at = EXCLUDED.changed_at;
    END IF;
$step$, i - 1, tables[i], names[i]);
    END LOOP;

    EXECUTE format($function$
CREATE FUNCTION write_report_batch(
    p_at timestamptz,
    p_fence_shards int4[], p_fence_epochs int8[],
    p_node_ids text[], p_node_shards int4[], p_node_kinds text[], p_node_reports text[], p_node_beats int4[],
    p_node_epochs int8[], p_node_versions int8[],
    p_delete_from int4[], p_delete_nodes text[], p_delete_keys int8[],
    p_upsert_from int4[], p_upsert_nodes text[], p_upsert_keys int8[], p_upsert_ids text[], p_upsert_digests int8[],
    p_upsert_bodies text[],
    p_change_nodes text[], p_change_kinds text[], p_change_ids text[], p_change_changes text[],
    p_sample_nodes text[], p_sample_metrics text[]
) RETURNS void LANGUAGE plpgsql AS $body$
DECLARE
    stale int4[];
    moved text[];
BEGIN
    PERFORM 1 FROM shard_epochs WHERE shard = ANY(p_fence_shards) ORDER BY shard FOR SHARE;
    SELECT coalesce(array_agg(f.shard ORDER BY f.shard), '{}') INTO stale
    FROM unnest(p_fence_shards, p_fence_epochs) AS f(shard, epoch)
    LEFT JOIN shard_epochs e ON e.shard = f.shard
    WHERE e.epoch IS DISTINCT FROM f.epoch;
    IF cardinality(stale) > 0 THEN
        RAISE EXCEPTION 'shard epochs moved on' USING ERRCODE = 'TM001', DETAIL = array_to_string(stale, ',');
    END IF;

    IF cardinality(p_node_ids) > 0 THEN
        WITH written AS (
            INSERT INTO nodes AS n (node_id, shard, kind, first_seen, last_seen, online, offline_since,
                                    last_report_id, last_report_at, beat_rate, written_epoch, state_version)
            SELECT u.id, u.shard, u.kind, p_at, p_at, true, NULL, u.report, p_at, u.beat, u.epoch, u.version + 1
            FROM unnest(p_node_ids, p_node_shards, p_node_kinds, p_node_reports, p_node_beats, p_node_epochs, p_node_versions)
                 AS u(id, shard, kind, report, beat, epoch, version)
            ON CONFLICT (node_id) DO UPDATE SET shard = EXCLUDED.shard, kind = EXCLUDED.kind,
                last_seen = EXCLUDED.last_seen, online = true, offline_since = NULL,
                last_report_id = EXCLUDED.last_report_id, last_report_at = EXCLUDED.last_report_at,
                beat_rate = EXCLUDED.beat_rate, written_epoch = EXCLUDED.written_epoch,
                state_version = EXCLUDED.state_version
            WHERE n.state_version = EXCLUDED.state_version - 1
            RETURNING n.node_id)
        SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO moved
        FROM unnest(p_node_ids) AS id WHERE id NOT IN (SELECT node_id FROM written);
        IF cardinality(moved) > 0 THEN
            RAISE EXCEPTION 'node rows moved on' USING ERRCODE = 'TM002', DETAIL = to_json(moved)::text;
        END IF;
    END IF;
%1$s
    IF p_delete_from[13] > p_delete_from[12] THEN
        WITH gone AS (
            DELETE FROM connections t
            USING unnest(p_delete_nodes[p_delete_from[12]:p_delete_from[13] - 1],
                         p_delete_keys[p_delete_from[12]:p_delete_from[13] - 1]) AS u(node, key)
            WHERE t.node_id = u.node AND t.entity_key = u.key
            RETURNING t.node_id, t.source || ' -> ' || t.destination AS entity_id)
        INSERT INTO entity_changes (changed_at, node_id, kind, entity_id, change)
        SELECT p_at, node_id, 'connection', entity_id, 'vanished' FROM gone;
    END IF;
    IF p_upsert_from[13] > p_upsert_from[12] THEN
        -- For connections, the rows' ids are sources and their bodies destinations.
        INSERT INTO connections (node_id, entity_key, source, destination, first_seen)
        SELECT u.node, u.key, u.id, u.body, p_at
        FROM unnest(p_upsert_nodes[p_upsert_from[12]:p_upsert_from[13] - 1],
                    p_upsert_keys[p_upsert_from[12]:p_upsert_from[13] - 1],
                    p_upsert_ids[p_upsert_from[12]:p_upsert_from[13] - 1],
                    p_upsert_bodies[p_upsert_from[12]:p_upsert_from[13] - 1]) AS u(node, key, id, body)
        ON CONFLICT (node_id, entity_key) DO UPDATE SET source = EXCLUDED.source, destination = EXCLUDED.destination;
    END IF;

    IF cardinality(p_change_nodes) > 0 THEN
        INSERT INTO entity_changes (changed_at, node_id, kind, entity_id, change)
        SELECT p_at, u.node, u.kind, u.id, u.change
        FROM unnest(p_change_nodes, p_change_kinds, p_change_ids, p_change_changes) AS u(node, kind, id, change);
    END IF;
    IF cardinality(p_sample_nodes) > 0 THEN
        INSERT INTO metric_samples (sampled_at, node_id, metrics)
        SELECT p_at, u.node, u.metrics::jsonb FROM unnest(p_sample_nodes, p_sample_metrics) AS u(node, metrics);
    END IF;
END
$body$
$function$, steps);
END
$migration$;
