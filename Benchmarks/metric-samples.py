#!/usr/bin/env python3
"""What a metric sample costs PostgreSQL to store: jsonb (before migration 0010) against gzipped bytea.

usage: Benchmarks/metric-samples.py DATABASE_URL [--fleet .build/release/fleet] [--profile host] [--rows 4000] [--rounds 3]

Builds one sample the way a worker does (the volatile metrics of every entity of a report from
`fleet generate`, grouped by kind), then inserts it `rows` times into two scratch tables shaped
like metric_samples, once as jsonb (cast from text row by row, as write_report_batch did) and
once gzipped into a bytea column with STORAGE MAIN (as it does now), timing each INSERT with
psql. Prints the time per sample and the tables' sizes, then drops the tables.
"""
import argparse
import gzip
import json
import re
import subprocess

parser = argparse.ArgumentParser()
parser.add_argument("database_url")
parser.add_argument("--fleet", default=".build/release/fleet")
parser.add_argument("--profile", default="host")
parser.add_argument("--rows", type=int, default=4000)
parser.add_argument("--rounds", type=int, default=3)
args = parser.parse_args()

report = json.loads(subprocess.run([args.fleet, "generate", "--profile", args.profile, "--beats", "2"],
                                   check=True, capture_output=True).stdout)
sample = {}
for section, kind in [("Host", "host"), ("Process", "process"), ("Container", "container")]:
    for node_id, node in (report.get(section) or {}).items():
        metadata = node.get("metadata", {})
        metrics = {k: metadata[k] for k in ("cpu_usage", "memory_usage", "uptime", "open_files_count") if k in metadata}
        if metrics:
            sample.setdefault(kind, {})[node_id] = metrics
text = json.dumps(sample, separators=(",", ":"))
gzipped = gzip.compress(text.encode(), 1)

sql = [r"\set ON_ERROR_STOP 1",
       "DROP TABLE IF EXISTS bench_samples_jsonb, bench_samples_bytea;",
       "CREATE TABLE bench_samples_jsonb (sampled_at timestamptz NOT NULL, node_id text NOT NULL, metrics jsonb NOT NULL);",
       "CREATE INDEX ON bench_samples_jsonb (node_id, sampled_at);",
       "CREATE TABLE bench_samples_bytea (sampled_at timestamptz NOT NULL, node_id text NOT NULL, metrics_gzip bytea NOT NULL);",
       "ALTER TABLE bench_samples_bytea ALTER COLUMN metrics_gzip SET STORAGE MAIN;",
       "CREATE INDEX ON bench_samples_bytea (node_id, sampled_at);",
       f"CREATE TEMP TABLE bench_sample AS SELECT $sample${text}$sample$::text AS t, decode('{gzipped.hex()}', 'hex') AS b;",
       r"\timing on"]
for _ in range(args.rounds):
    sql.append("INSERT INTO bench_samples_jsonb SELECT now(), 'h' || n, m::jsonb FROM bench_sample, "
               f"unnest(array_fill(bench_sample.t, ARRAY[{args.rows}])) WITH ORDINALITY AS u(m, n);")
    sql.append("INSERT INTO bench_samples_bytea SELECT now(), 'h' || n, m FROM bench_sample, "
               f"unnest(array_fill(bench_sample.b, ARRAY[{args.rows}])) WITH ORDINALITY AS u(m, n);")
sql += [r"\timing off",
        "SELECT 'size', pg_total_relation_size('bench_samples_jsonb'), pg_total_relation_size('bench_samples_bytea');",
        "DROP TABLE bench_samples_jsonb, bench_samples_bytea;"]
out = subprocess.run(["psql", args.database_url, "-q", "-t", "-A", "-F", " "], input="\n".join(sql), text=True,
                     check=True, capture_output=True).stdout
times = [float(t) for t in re.findall(r"Time: ([0-9.]+) ms", out)]
jsonb, bytea = sorted(times[0::2]), sorted(times[1::2])
sizes = re.search(r"size (\d+) (\d+)", out)
rows = args.rows * args.rounds
print(f"sample: {len(text)} bytes of JSON, {len(gzipped)} gzipped; {args.rows} rows x {args.rounds} rounds")
print(f"jsonb: {jsonb[len(jsonb) // 2] * 1000 / args.rows:7.1f} µs per sample (median round), table {int(sizes[1]) / rows:6.0f} B per row")
print(f"bytea: {bytea[len(bytea) // 2] * 1000 / args.rows:7.1f} µs per sample (median round), table {int(sizes[2]) / rows:6.0f} B per row")
