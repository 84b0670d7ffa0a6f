import Foundation
import IngestCore

/// Everything one batch of reports writes, in columns, ready for `UNNEST` (one statement per
/// table, however many reports the batch holds).
public struct BatchWrite: Sendable {
    /// The shard epochs the writer holds: the transaction commits only if all still match.
    public var fences: [Int32: Int64] = [:]
    /// When the batch is written (`last_seen`, `changed_at`, change-log and sample times).
    public var at: Date

    // One row per reporting node.
    public var nodeIDs: [String] = []
    public var nodeShards: [Int32] = []
    /// The shard epoch each node's row is written under.
    public var nodeEpochs: [Int64] = []
    public var nodeKinds: [String] = []
    public var nodeReportIDs: [String?] = []
    public var nodeBeatRates: [Int32] = []
    /// The `state_version` each node's diff was made against (0 for a node without a row): the
    /// row is written only from that version, and moves to the next.
    public var nodeVersions: [Int64] = []

    /// Appeared or changed entities, per kind.
    public var upserts: [EntityKind: EntityRows] = [:]
    /// Vanished entities, per kind: their node and key.
    public var deletions: [EntityKind: KeyRows] = [:]
    /// Appeared and changed entries of the change log (vanished ones come from the deletions).
    public var changes = ChangeRows()
    /// Metric samples: one JSON document per node (``MetricSample``), gzipped.
    public var sampleNodeIDs: [String] = []
    public var sampleMetrics: [[UInt8]] = []

    public init(at: Date) { self.at = at }

    /// Adds a reporting node's row, written under `epoch` (the batch is fenced on it too) and
    /// moved from `version` to the next.
    public mutating func addNode(
        _ nodeID: String, shard: Int, epoch: Int64, kind: String, reportID: String?, beatRate: Int, version: Int64
    ) {
        fences[Int32(shard)] = epoch
        nodeIDs.append(nodeID)
        nodeShards.append(Int32(shard))
        nodeEpochs.append(epoch)
        nodeKinds.append(kind)
        nodeReportIDs.append(reportID)
        nodeBeatRates.append(Int32(beatRate))
        nodeVersions.append(version)
    }

    /// Entity rows of one kind. For connections, `ids` are sources and `bodies` destinations.
    public struct EntityRows: Sendable {
        public var nodeIDs: [String] = []
        public var keys: [Int64] = []
        public var ids: [String] = []
        public var digests: [Int64] = []
        public var bodies: [String] = []
        public init() {}
        public var count: Int { keys.count }

        /// Adds the rows of `other` after these.
        public mutating func append(contentsOf other: EntityRows) {
            nodeIDs.append(contentsOf: other.nodeIDs)
            keys.append(contentsOf: other.keys)
            ids.append(contentsOf: other.ids)
            digests.append(contentsOf: other.digests)
            bodies.append(contentsOf: other.bodies)
        }

        /// Adds one row.
        public mutating func append(nodeID: String, key: Int64, id: String, digest: Int64, body: String) {
            nodeIDs.append(nodeID)
            keys.append(key)
            ids.append(id)
            digests.append(digest)
            bodies.append(body)
        }
    }

    /// Keys of entities to delete.
    public struct KeyRows: Sendable {
        public var nodeIDs: [String] = []
        public var keys: [Int64] = []
        public init() {}
        public var count: Int { keys.count }

        /// Adds the keys of `other` after these.
        public mutating func append(contentsOf other: KeyRows) {
            nodeIDs.append(contentsOf: other.nodeIDs)
            keys.append(contentsOf: other.keys)
        }
    }

    /// Change-log rows.
    public struct ChangeRows: Sendable {
        public var nodeIDs: [String] = []
        public var kinds: [String] = []
        public var entityIDs: [String] = []
        public var changes: [String] = []
        public init() {}
        public var count: Int { nodeIDs.count }
    }

    /// Entity rows written (upserted plus deleted), the figure "rows written per report" counts.
    public var entityRowCount: Int {
        upserts.values.reduce(0) { $0 + $1.count } + deletions.values.reduce(0) { $0 + $1.count }
    }
}

/// How a fenced batch write ended.
public enum BatchOutcome: Sendable, Hashable {
    /// Everything was committed.
    case committed
    /// Nothing was written: these shards' epochs moved on (another worker owns them now).
    case stale(shards: [Int32])
}

extension BatchOutcome {
    /// The outcome of a fenced transaction whose result is not needed.
    init<Value>(_ fenced: PlacementStore.Fenced<Value>) {
        switch fenced {
        case .done: self = .committed
        case .stale(let shards): self = .stale(shards: shards)
        }
    }
}
