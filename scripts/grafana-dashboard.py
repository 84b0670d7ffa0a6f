#!/usr/bin/env python3
"""Writes deploy/grafana/console.json, the Grafana dashboard of the console's metrics.

Run it after adding or renaming a metric; the cluster test checks that every metric the
dashboard and the alerts name is one the roles export.
"""
import json
import pathlib

RATE = "[$__rate_interval]"


# The console roles' metrics Services (the alerts select the same).
ROLES = 'service=~"console-(gateway-metrics|worker|coordinator-metrics)"'


def panel(title, targets, unit="short", kind="timeseries", description=""):
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]}},
        "targets": [{"expr": expr, "legendFormat": legend, "refId": chr(65 + i)} for i, (expr, legend) in enumerate(targets)],
    }


def stat(title, expr, unit="short", description=""):
    p = panel(title, [(expr, "")], unit, "stat", description)
    p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    return p


ROWS = [
    ("Overview", [
        stat("Reports/s committed", f"sum(rate(ingest_worker_reports_committed{RATE}))", "reqps"),
        stat("Report p99 (arrival → commit)",
             f"histogram_quantile(0.99, sum by (le) (rate(ingest_gateway_report_duration_bucket{RATE})))", "s"),
        stat("Nodes online", "sum(ingest_worker_nodes) - sum(ingest_worker_nodes_offline)"),
        stat("Nodes offline", "sum(ingest_worker_nodes_offline)"),
        stat("Coordinator leaders", "sum(ingest_coordinator_leader)", description="1 when healthy"),
        stat("Shards unowned", "max(ingest_coordinator_shards_unowned and on (pod) (ingest_coordinator_leader == 1))", description="0 when healthy"),
    ]),
    ("Gateways", [
        panel("Requests/s by route", [(f"sum by (route) (rate(ingest_gateway_requests{RATE}))", "{{route}}")], "reqps"),
        panel("Responses/s by route and status", [
            (f"sum by (route, status) (rate(ingest_gateway_responses{RATE}))", "{{route}} {{status}}")], "reqps"),
        panel("Refusals/s by error code", [(f"sum by (code) (rate(ingest_gateway_errors{RATE}))", "{{code}}")], "reqps"),
        panel("Report latency (arrival → owner's commit)", [
            (f"histogram_quantile({q}, sum by (le) (rate(ingest_gateway_report_duration_bucket{RATE})))", f"p{int(q * 100)}")
            for q in (0.5, 0.9, 0.99)], "s"),
        panel("Bytes in/s by route", [(f"sum by (route) (rate(ingest_gateway_bytes_in{RATE}))", "{{route}}")], "Bps"),
        panel("Open sensor connections", [('sum by (pod) (ingest_http_connections{listener="public"})', "{{pod}}")]),
        panel("Forward retries/s and map refreshes/s", [
            (f"sum(rate(ingest_gateway_retries{RATE}))", "retries"),
            (f"sum(rate(ingest_gateway_map_refreshes{RATE}))", "map refreshes")], "ops"),
    ]),
    ("Workers", [
        panel("Reports/s committed, duplicate, shed, fenced, failed", [
            (f"sum(rate(ingest_worker_reports_committed{RATE}))", "committed"),
            (f"sum(rate(ingest_worker_reports_duplicate{RATE}))", "duplicate"),
            (f"sum(rate(ingest_worker_reports_shed{RATE}))", "shed (503)"),
            (f"sum(rate(ingest_worker_reports_fenced{RATE}))", "fenced (stale epoch)"),
            (f"sum(rate(ingest_worker_reports_failed{RATE}))", "failed")], "reqps"),
        panel("Rows written/s", [
            (f"sum(rate(ingest_worker_entity_rows{RATE}))", "entity rows"),
            (f"sum(rate(ingest_worker_change_rows{RATE}))", "change rows"),
            (f"sum(rate(ingest_worker_metric_samples{RATE}))", "metric samples")], "rowsps"),
        panel("Batch size (reports per transaction)", [
            (f"histogram_quantile({q}, sum by (le) (rate(ingest_worker_batch_size_bucket{RATE})))", f"p{int(q * 100)}")
            for q in (0.5, 0.99)] + [
            (f"sum(rate(ingest_worker_batch_size_sum{RATE})) / sum(rate(ingest_worker_batch_size_count{RATE}))", "mean")]),
        panel("Batch flush time", [
            (f"histogram_quantile({q}, sum by (le) (rate(ingest_worker_batch_duration_bucket{RATE})))", f"p{int(q * 100)}")
            for q in (0.5, 0.99)], "s"),
        panel("Backlog (accepted, not committed) per worker", [("ingest_worker_backlog", "{{pod}}")]),
        panel("Beat rate: each worker's, the cluster's (the leader's decision, as each gateway heard it; 0: not raised)", [
            ("ingest_worker_beat_rate", "{{pod}}"), ("max(ingest_coordinator_beat_rate * ingest_coordinator_leader)", "leader"),
            ("ingest_gateway_beat_rate", "{{pod}}")], "s"),
        panel("Nodes held and offline per worker", [
            ("ingest_worker_nodes", "{{pod}} held"), ("ingest_worker_nodes_offline", "{{pod}} offline")]),
        panel("Commands delivered/s", [(f"sum(rate(ingest_worker_commands_delivered{RATE}))", "delivered")], "ops"),
    ]),
    ("Shards and coordinators", [
        panel("Shards owned per worker", [("ingest_worker_shards", "{{pod}}")]),
        panel("Shard moves and claims", [
            (f"sum(increase(ingest_coordinator_shard_moves{RATE}))", "moves (leader)"),
            (f"sum(increase(ingest_worker_shards_claimed{RATE}))", "claimed (workers)"),
            (f"sum(increase(ingest_worker_shards_released{RATE}))", "released (workers)")]),
        panel("Shard map version", [
            ("max(ingest_coordinator_map_version)", "coordinator"),
            ("min(ingest_gateway_map_version)", "oldest gateway"),
            ("min(ingest_worker_map_version)", "oldest worker")]),
        panel("Leader and leader changes", [
            ("ingest_coordinator_leader", "{{pod}} leads"),
            (f"sum(increase(ingest_coordinator_leader_changes{RATE}))", "changes")]),
        panel("Workers holding shards (leader's view)", [("max(ingest_coordinator_workers)", "workers")]),
    ]),
    ("Processes", [
        panel("CPU per pod (cores)", [
            (f"sum by (pod) (rate(process_cpu_seconds_total{{{ROLES}}}{RATE}))", "{{pod}}")],
            description="process_cpu_seconds_total of every role, from /proc at each scrape"),
        panel("Resident memory per pod", [(f"sum by (pod) (process_resident_memory_bytes{{{ROLES}}})", "{{pod}}")], "bytes"),
        panel("Open files per pod", [(f"sum by (pod) (process_open_fds{{{ROLES}}})", "{{pod}}")]),
    ]),
    ("PostgreSQL pools", [
        panel("Operations in flight / pool size", [
            ("ingest_postgres_in_flight", "{{pod}} {{pool}} in flight"),
            ("ingest_postgres_connections_max", "{{pod}} {{pool}} size")]),
        panel("Operations/s by outcome", [
            (f"sum by (pool, outcome) (rate(ingest_postgres_operations{RATE}))", "{{pool}} {{outcome}}")], "ops"),
        panel("Operation time p99 (lease included)", [
            (f"histogram_quantile(0.99, sum by (le, pool) (rate(ingest_postgres_operation_duration_bucket{RATE})))", "{{pool}}")], "s"),
    ]),
]


def dashboard():
    panels, y, next_id = [], 0, 1
    for title, row in ROWS:
        panels.append({"type": "row", "title": title, "collapsed": False, "id": next_id,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id += 1
        y += 1
        width = 4 if row and row[0]["type"] == "stat" else 8
        height = 4 if width == 4 else 8
        for index, p in enumerate(row):
            p["id"] = next_id
            next_id += 1
            p["gridPos"] = {"h": height, "w": width, "x": (index * width) % 24, "y": y + (index * width) // 24 * height}
            panels.append(p)
        y += ((len(row) * width + 23) // 24) * height
    return {
        "title": "ThreatMapper console ingest",
        "uid": "threatmapper-console",
        "description": "Gateways, workers, shards and PostgreSQL pools of the console (deploy/grafana, docs/operations.md).",
        "tags": ["threatmapper", "console"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]},
        "panels": panels,
    }


if __name__ == "__main__":
    out = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "console.json"
    out.write_text(json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n")
    print(out)
