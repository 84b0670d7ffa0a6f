import IngestCore

/// Counters a worker keeps, for the operator API and the benchmarks.
public struct WorkerStats: Sendable, Hashable {
    /// Reports committed (and acknowledged).
    public var reportsCommitted = 0
    /// Reports acknowledged without a write because their report ID was the last one stored.
    public var duplicatesAcknowledged = 0
    /// Reports refused with 503 because the backlog was full.
    public var reportsShed = 0
    /// Reports refused because their shard moved.
    public var reportsFenced = 0
    /// Write transactions committed.
    public var batchesCommitted = 0
    /// Entity rows inserted, updated or deleted.
    public var entityRowsWritten = 0
    /// Change-log rows written (vanished ones included).
    public var changeRowsWritten = 0
    /// Metric sample rows written.
    public var samplesWritten = 0
    /// Commands delivered to sensors.
    public var commandsDelivered = 0
    /// Reports answered with a spread beat rate because they were acknowledged in a large batch.
    public var beatsSpread = 0
    /// Findings, scan statuses and cloud resources committed (resends included).
    public var findingsCommitted = 0

    public init() {}

    /// The counters as a JSON object, with the worker's ID and its current beat rate and backlog.
    public func json(memberID: String, beatRate: Int, backlog: Int, nodes: Int) -> String {
        let fields: [(String, Int)] = [
            ("reports_committed", reportsCommitted), ("duplicates_acknowledged", duplicatesAcknowledged),
            ("reports_shed", reportsShed), ("reports_fenced", reportsFenced), ("batches_committed", batchesCommitted),
            ("entity_rows_written", entityRowsWritten), ("change_rows_written", changeRowsWritten),
            ("samples_written", samplesWritten), ("commands_delivered", commandsDelivered), ("beats_spread", beatsSpread),
            ("findings_committed", findingsCommitted),
            ("beat_rate", beatRate),
            ("backlog", backlog),
            ("nodes", nodes),
        ]
        return "{\"id\":" + JSONText.quoted(memberID) + "," + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
