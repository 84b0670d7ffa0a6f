import Metrics

/// The worker's metrics, created once (names are dot-namespaced; the Prometheus exporter turns
/// dots into underscores: `ingest_worker_reports_committed`).
struct WorkerMetrics: Sendable {
    let reportsCommitted = Counter(label: "ingest.worker.reports.committed")
    let duplicates = Counter(label: "ingest.worker.reports.duplicate")
    let shed = Counter(label: "ingest.worker.reports.shed")
    let fenced = Counter(label: "ingest.worker.reports.fenced")
    let failed = Counter(label: "ingest.worker.reports.failed")
    let entityRows = Counter(label: "ingest.worker.entity.rows")
    let changeRows = Counter(label: "ingest.worker.change.rows")
    let samples = Counter(label: "ingest.worker.metric.samples")
    let batches = Counter(label: "ingest.worker.batches")
    let batchDuration = Timer(label: "ingest.worker.batch.duration")
    /// Reports per committed batch (a histogram; its buckets are set in the console's `bootstrapMetrics()`).
    let batchSize = Recorder(label: "ingest.worker.batch.size")
    let mapVersion = Gauge(label: "ingest.worker.map.version")
    let shardsClaimed = Counter(label: "ingest.worker.shards.claimed")
    let shardsReleased = Counter(label: "ingest.worker.shards.released")
    let commandsDelivered = Counter(label: "ingest.worker.commands.delivered")
    let beatsSpread = Counter(label: "ingest.worker.beats.spread")
    let backlog = Gauge(label: "ingest.worker.backlog")
    let beatRate = Gauge(label: "ingest.worker.beat.rate")
    let ownedShards = Gauge(label: "ingest.worker.shards")
    let nodes = Gauge(label: "ingest.worker.nodes")
    let nodesOffline = Gauge(label: "ingest.worker.nodes.offline")
    /// Findings, scan statuses and cloud resources committed (resends included; stored once).
    let findingsCommitted = Counter(label: "ingest.worker.findings.committed")
    /// Scans ended as ERROR after `--scan-stall-timeout` without progress.
    let scansStalled = Counter(label: "ingest.worker.scans.stalled")
}
