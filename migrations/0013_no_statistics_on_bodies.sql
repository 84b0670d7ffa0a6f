-- target: placement
-- No planner statistics on the entities' stored bodies. No query filters or joins on a `body`
-- (pages read it by key, the generated columns beside it carry their own statistics), yet
-- ANALYZE sampled and sorted 30,000 jsonb documents per table to build them. Measured on the
-- placement of a 6,000-sensor run (1.1 million process rows, 860,000 endpoints): a database-wide
-- ANALYZE took 2.8-3.2 s with them and 1.8-2.0 s without (docs/benchmarks.md), and autovacuum
-- analyzes each table again after every tenth of its rows changed.
ALTER TABLE hosts ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE processes ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE containers ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE container_images ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE pods ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE services ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE namespaces ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE kubernetes_clusters ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE cloud_providers ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE cloud_regions ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE endpoints ALTER COLUMN body SET STATISTICS 0;
