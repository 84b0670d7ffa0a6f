import IngestCompression
import IngestCore
import IngestStorage

/// Turns a lane's reports into one ``BatchWrite``: diffs each report against its node's last
/// snapshot and collects only what changed, plus the node rows and due metric samples.
///
/// A batch holds at most one report per node; a second report of a node in the same batch is
/// deferred to the next one, so a node's writes never conflict inside a statement.
struct BatchBuilder {
    let now: Timestamp
    let sampleInterval: Duration
    private(set) var write: BatchWrite
    /// The lane state of each node after this batch commits.
    private(set) var next: [String: LaneNode] = [:]
    /// Items that write (in order).
    private(set) var writing: [LaneItem] = []
    /// Items acknowledged without a write: their report ID is the node's last stored one.
    private(set) var duplicates: [LaneItem] = []
    /// Items for the next batch (a second report of a node already in this one).
    private(set) var deferred: [LaneItem] = []
    /// Items refused because another item fenced their shard at a newer epoch.
    private(set) var superseded: [LaneItem] = []

    init(now: Timestamp, sampleInterval: Duration) {
        self.now = now
        self.sampleInterval = sampleInterval
        self.write = BatchWrite(at: now.date)
    }

    /// Adds `items` (in arrival order) given the lane's current node state.
    mutating func add(_ items: [LaneItem], current: [String: LaneNode]) {
        // The newest epoch seen per shard wins; older items of that shard are stale already.
        var epochs: [Int: Int64] = [:]
        for item in items { epochs[item.shard] = max(epochs[item.shard] ?? .min, item.epoch) }
        // The report ID each node writes in this batch.
        var writingReport: [String: String?] = [:]
        for item in items {
            let nodeID = item.report.nodeID
            let reportID = item.report.reportID
            if item.epoch != epochs[item.shard] {
                superseded.append(item)
            } else if let written = writingReport[nodeID] {
                if reportID != nil && reportID == written { duplicates.append(item) } else { deferred.append(item) }
            } else if let reportID, reportID == current[nodeID]?.lastReportID {
                duplicates.append(item)
            } else {
                add(item, previous: current[nodeID])
                writingReport[nodeID] = .some(reportID)
            }
        }
    }

    private mutating func add(_ item: LaneItem, previous: LaneNode?) {
        let report = item.report
        let diff = ReportDiff(previous: previous?.snapshot, report: report)
        write.addNode(
            report.nodeID, shard: item.shard, epoch: item.epoch, kind: report.nodeKind.rawValue, reportID: report.reportID,
            beatRate: item.beatRate, version: previous?.version ?? 0)
        // A node's first report is its initial state, not a change: the log gets one row for the
        // node instead of one per entity (half the rows a fleet's first minute writes).
        let isNewNode = (previous?.snapshot.count ?? 0) == 0 && previous?.lastReportID == nil
        if isNewNode {
            write.changes.nodeIDs.append(report.nodeID)
            write.changes.kinds.append("node")
            write.changes.entityIDs.append(report.nodeID)
            write.changes.changes.append("appeared")
        }
        for index in diff.appeared { upsert(report.entities[Int(index)], of: report, change: isNewNode ? nil : "appeared") }
        for index in diff.changed { upsert(report.entities[Int(index)], of: report, change: "changed") }
        for index in diff.rehashed { upsert(report.entities[Int(index)], of: report, change: nil) }
        for vanished in diff.vanished {
            write.deletions[vanished.kind, default: BatchWrite.KeyRows()].nodeIDs.append(report.nodeID)
            write.deletions[vanished.kind, default: BatchWrite.KeyRows()].keys.append(Int64(bitPattern: vanished.key))
        }
        var lastSample = previous?.lastSample
        if lastSample.map({ now.since($0) >= sampleInterval }) ?? true, let sample = MetricSample.json(of: report) {
            write.sampleNodeIDs.append(report.nodeID)
            // Gzipped here: PostgreSQL stores the bytes as they come (no jsonb to build, nothing
            // for it to compress).
            write.sampleMetrics.append(Gzip.compress(sample, level: 1))
            lastSample = now
        }
        next[report.nodeID] = LaneNode(
            shard: item.shard, snapshot: diff.next, lastReportID: report.reportID, version: (previous?.version ?? 0) + 1,
            lastSample: lastSample)
        writing.append(item)
    }

    /// Adds an entity row and, unless `change` is nil, its change-log row.
    private mutating func upsert(_ entity: ParsedEntity, of report: ParsedReport, change: String?) {
        let id: String
        let body: String
        if entity.kind == .connection {
            let source = report.string(entity.id, escaped: entity.escaped)
            body = report.string(entity.peer, escaped: entity.escaped)
            id = source
        } else {
            id = report.string(entity.id, escaped: entity.escaped)
            body = report.storedBody(of: entity)
        }
        // Mutated in place: copying a kind's column arrays per entity would be quadratic.
        write.upserts[entity.kind, default: BatchWrite.EntityRows()].append(
            nodeID: report.nodeID, key: Int64(bitPattern: entity.key), id: id, digest: Int64(bitPattern: entity.digest), body: body)
        guard let change else { return }
        write.changes.nodeIDs.append(report.nodeID)
        write.changes.kinds.append(entity.kind.name)
        write.changes.entityIDs.append(entity.kind == .connection ? id + " -> " + body : id)
        write.changes.changes.append(change)
    }
}
