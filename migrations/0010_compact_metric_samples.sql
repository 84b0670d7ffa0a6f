-- target: placement
-- Metric samples are stored gzipped: the worker compresses each sample (a JSON document of the
-- volatile metrics of a node's entities, ≈ 12 KB for a host) and PostgreSQL keeps the bytes as
-- they come, instead of building jsonb from the text and compressing it for TOAST (the hottest
-- part of its CPU in a profile of the mixed load; about 17 times the CPU per sample, in about
-- the same space: Benchmarks/metric-samples.py).
-- STORAGE MAIN: PostgreSQL's own compression gains nothing on gzip and gives up after the first
-- kilobyte; the value then stays in the row instead of moving to the TOAST table.
--
-- Upgrade without a rewrite: adding a nullable column and dropping NOT NULL change only the
-- catalog (of the parent and of every day partition). Samples written before keep their jsonb
-- `metrics` until --change-log-retention drops their day's partition; readers take whichever
-- column is set (`metrics` for those, `metrics_gzip` for the new ones).
ALTER TABLE metric_samples ADD COLUMN metrics_gzip bytea;
ALTER TABLE metric_samples ALTER COLUMN metrics_gzip SET STORAGE MAIN;
ALTER TABLE metric_samples ALTER COLUMN metrics DROP NOT NULL;
ALTER TABLE metric_samples ADD CONSTRAINT metric_samples_one_form CHECK ((metrics IS NULL) <> (metrics_gzip IS NULL)) NOT VALID;

-- write_report_batch gains a second form that takes the samples as bytea and stores them as they
-- are: its text is taken from the catalog (migration 0009's function) and only the samples'
-- parameter and statement change, so the rest of the function is written once, in 0009. The
-- first form stays, so workers of the version before keep writing (jsonb samples) during a
-- rolling upgrade; each worker names its form by the samples' type (`::bytea[]`).
DO $migration$
DECLARE
    definition text := pg_get_functiondef('write_report_batch'::regproc);
    old_statement text := 'SELECT p_at, u.node, u.metrics::jsonb FROM unnest(p_sample_nodes, p_sample_metrics) AS u(node, metrics);';
    new_statement text := 'SELECT p_at, u.node, NULL, u.metrics FROM unnest(p_sample_nodes, p_sample_metrics) AS u(node, metrics);';
BEGIN
    IF position(old_statement IN definition) = 0 OR position('p_sample_metrics text[]' IN definition) = 0
        OR position('INSERT INTO metric_samples (sampled_at, node_id, metrics)' IN definition) = 0 THEN
        RAISE EXCEPTION 'write_report_batch is not the function migration 0009 created';
    END IF;
    definition := replace(definition, 'p_sample_metrics text[]', 'p_sample_metrics bytea[]');
    definition := replace(definition, 'INSERT INTO metric_samples (sampled_at, node_id, metrics)',
                          'INSERT INTO metric_samples (sampled_at, node_id, metrics, metrics_gzip)');
    definition := replace(definition, old_statement, new_statement);
    EXECUTE definition;
END
$migration$;
