import Foundation
import IngestCore
import Logging
import PostgresNIO

/// A placement database: fencing epochs, nodes, current-state tables, the change log, metric
/// samples and pending commands.
public struct PlacementStore: Sendable {
    public let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    // MARK: Fencing

    /// Raises the stored epoch of each shard to the given one; returns the shards this succeeded
    /// for (a shard whose stored epoch is already higher belongs to a newer owner).
    public func claim(_ shards: [(shard: Int, epoch: Int64)]) async throws -> Set<Int> {
        guard !shards.isEmpty else { return [] }
        let numbers = shards.map { Int32($0.shard) }
        let epochs = shards.map(\.epoch)
        let rows = try await database.query(
            """
            INSERT INTO shard_epochs AS e (shard, epoch)
            SELECT * FROM UNNEST(\(numbers)::int4[], \(epochs)::int8[])
            ON CONFLICT (shard) DO UPDATE SET epoch = EXCLUDED.epoch WHERE e.epoch <= EXCLUDED.epoch
            RETURNING shard
            """, logger: logger)
        var claimed = Set<Int>()
        for try await shard in rows.decode(Int32.self) { claimed.insert(Int(shard)) }
        return claimed
    }

    /// How a fenced transaction ended.
    public enum Fenced<Value: Sendable>: Sendable {
        /// The epochs held and the body ran; the transaction committed with its result.
        case done(Value)
        /// These shards' epochs moved on (another worker owns them now): nothing was written.
        case stale(shards: [Int32])

        /// The body's result, or nil if a fence failed.
        public var value: Value? {
            guard case .done(let value) = self else { return nil }
            return value
        }
    }

    /// Runs `body` in one transaction that first locks the stored epochs of the shards in
    /// `fences` (`FOR SHARE`, held until the transaction ends) and compares them with the ones
    /// given: if any moved on, `body` does not run and nothing is written. Every write of a
    /// shard's data goes through here, except batches of reports: `write_report_batch` does the
    /// same check in the database, in the one statement that writes the batch.
    func fenced<Value: Sendable>(
        _ fences: [Int32: Int64], _ body: (PostgresConnection, Logger) async throws -> Value
    ) async throws -> Fenced<Value> {
        let logger = self.logger
        return try await database.transaction { connection in
            let stale = try await Self.staleShards(fences, on: connection, logger: logger)
            guard stale.isEmpty else { return .stale(shards: stale) }
            return .done(try await body(connection, logger))
        }
    }

    /// The shards of `fences` whose stored epoch is not the one held, read under a share lock
    /// that holds the epochs until the transaction ends.
    private static func staleShards(_ fences: [Int32: Int64], on connection: PostgresConnection, logger: Logger) async throws -> [Int32] {
        var held: [Int32: Int64] = [:]
        for try await (shard, epoch) in try await connection.query(
            "SELECT shard, epoch FROM shard_epochs WHERE shard = ANY(\(Array(fences.keys))::int4[]) FOR SHARE", logger: logger
        ).decode((Int32, Int64).self) {
            held[shard] = epoch
        }
        return fences.filter { held[$0.key] != $0.value }.map(\.key).sorted()
    }

    /// Sets a shard's epoch outright (operator tooling and tests use it to fence a writer).
    public func setEpoch(shard: Int, epoch: Int64) async throws {
        try await database.execute(
            """
            INSERT INTO shard_epochs (shard, epoch) VALUES (\(Int32(shard)), \(epoch))
            ON CONFLICT (shard) DO UPDATE SET epoch = EXCLUDED.epoch
            """)
    }

    // MARK: The batch write

    /// Writes one batch with one call of `write_report_batch` (migrations 0009, 0010): one statement in
    /// one round trip, its own transaction, which locks and checks the epochs of every shard in
    /// the batch first. If any epoch moved, nothing is written and the stale shards are returned.
    /// If any node's row is no longer at the version its diff was made against, nothing is
    /// written and ``OutdatedNodes`` is thrown.
    ///
    /// The call runs outside `BEGIN`/`COMMIT`: the server commits it when it processes the Sync
    /// that ends the call, and sends the call's answer (kept in its output buffer, a few dozen
    /// bytes for a function returning nothing) only with the ready-for-query message after that
    /// commit, so a caller that got the answer knows the batch is committed.
    public func write(_ batch: BatchWrite) async throws -> BatchOutcome {
        do {
            try await database.execute(Self.writeCall(batch))
            return .committed
        } catch let error where sqlState(of: error) == Self.staleFenceState {
            let shards = (serverDetail(of: error) ?? "").split(separator: ",").compactMap { Int32($0) }
            return .stale(shards: shards)
        } catch let error where sqlState(of: error) == Self.outdatedNodesState {
            let detail = serverDetail(of: error) ?? "[]"
            let nodeIDs = (try? JSONDecoder().decode([String].self, from: Data(detail.utf8))) ?? []
            throw OutdatedNodes(nodeIDs: nodeIDs)
        }
    }

    /// The SQLSTATE `write_report_batch` raises when a shard's epoch moved on (its detail lists
    /// the stale shards, comma-separated).
    static let staleFenceState = "TM001"
    /// The SQLSTATE `write_report_batch` raises when node rows are past the versions named (its
    /// detail lists the node IDs as a JSON array).
    static let outdatedNodesState = "TM002"

    /// A batch found these nodes' rows past the `state_version` their diffs were made against
    /// (a write whose outcome was in doubt committed after all): it was rolled back.
    public struct OutdatedNodes: Error, Sendable {
        public let nodeIDs: [String]
    }

    /// The call that writes `batch`: every table's rows as parallel arrays, the entity rows of
    /// all kinds in one set ordered by kind, with the index (1-based) where each kind's rows
    /// start and one past the last.
    static func writeCall(_ batch: BatchWrite) -> PostgresQuery {
        let fences = batch.fences.sorted { $0.key < $1.key }
        var deleteFrom: [Int32] = [1], deletes = BatchWrite.KeyRows()
        var upsertFrom: [Int32] = [1], upserts = BatchWrite.EntityRows()
        for kind in EntityKind.allCases {
            if let rows = batch.deletions[kind] { deletes.append(contentsOf: rows) }
            deleteFrom.append(Int32(deletes.count + 1))
            if let rows = batch.upserts[kind] { upserts.append(contentsOf: rows) }
            upsertFrom.append(Int32(upserts.count + 1))
        }
        let changes = batch.changes
        return """
            SELECT write_report_batch(\(batch.at), \(fences.map(\.key))::int4[], \(fences.map(\.value))::int8[],
                \(batch.nodeIDs)::text[], \(batch.nodeShards)::int4[], \(batch.nodeKinds)::text[],
                \(PostgresNullableArray(batch.nodeReportIDs))::text[], \(batch.nodeBeatRates)::int4[],
                \(batch.nodeEpochs)::int8[], \(batch.nodeVersions)::int8[],
                \(deleteFrom)::int4[], \(deletes.nodeIDs)::text[], \(deletes.keys)::int8[],
                \(upsertFrom)::int4[], \(upserts.nodeIDs)::text[], \(upserts.keys)::int8[], \(upserts.ids)::text[],
                \(upserts.digests)::int8[], \(upserts.bodies)::text[],
                \(changes.nodeIDs)::text[], \(changes.kinds)::text[], \(changes.entityIDs)::text[], \(changes.changes)::text[],
                \(batch.sampleNodeIDs)::text[], \(batch.sampleMetrics.map { ByteBuffer(bytes: $0) })::bytea[])
            """
    }

    // MARK: Loading state

    /// A node row as a worker needs it.
    public struct NodeRecord: Sendable, Hashable {
        public var nodeID: String
        public var shard: Int
        public var kind: String
        public var lastSeen: Date
        public var online: Bool
        public var lastReportID: String?
        public var beatRate: Int
        /// How many report writes the row has seen (`state_version`).
        public var stateVersion: Int64 = 0
    }

    /// The nodes of the given shards.
    public func nodes(inShards shards: [Int]) async throws -> [NodeRecord] {
        guard !shards.isEmpty else { return [] }
        return try await nodeRecords(
            "SELECT node_id, shard, kind, last_seen, online, last_report_id, beat_rate, state_version FROM nodes WHERE shard = ANY(\(shards.map { Int32($0) })::int4[])")
    }

    /// The named nodes (those that exist).
    public func nodes(named nodeIDs: [String]) async throws -> [NodeRecord] {
        guard !nodeIDs.isEmpty else { return [] }
        return try await nodeRecords(
            "SELECT node_id, shard, kind, last_seen, online, last_report_id, beat_rate, state_version FROM nodes WHERE node_id = ANY(\(nodeIDs)::text[])")
    }

    func nodeRecords(_ query: PostgresQuery) async throws -> [NodeRecord] {
        var records: [NodeRecord] = []
        for try await (id, shard, kind, lastSeen, online, report, beat, version) in try await database.query(query, logger: logger)
            .decode((String, Int32, String, Date, Bool, String?, Int32, Int64).self)
        {
            records.append(NodeRecord(nodeID: id, shard: Int(shard), kind: kind, lastSeen: lastSeen, online: online,
                                      lastReportID: report, beatRate: Int(beat), stateVersion: version))
        }
        return records
    }

    /// The stored entity keys and digests of each named node: what its next report is diffed
    /// against after a restart or a shard move. Nodes without entities get an empty snapshot.
    public func snapshots(of nodeIDs: [String]) async throws -> [String: NodeSnapshot] {
        guard !nodeIDs.isEmpty else { return [:] }
        let selects = EntityKind.allCases.map { kind in
            let digest = kind == .connection ? "0::int8" : "digest"
            return "SELECT node_id, \(kind.rawValue)::int2 AS kind, entity_key, \(digest) AS digest FROM \(kind.tableName) WHERE node_id = ANY($1::text[])"
        }
        var bindings = PostgresBindings()
        bindings.append(nodeIDs)
        let query = PostgresQuery(unsafeSQL: selects.joined(separator: " UNION ALL "), binds: bindings)
        var entries: [String: [(key: UInt64, kind: EntityKind, digest: UInt64)]] = [:]
        for nodeID in nodeIDs { entries[nodeID] = [] }
        for try await (nodeID, kind, key, digest) in try await database.query(query, logger: logger)
            .decode((String, Int16, Int64, Int64).self)
        {
            guard let kind = EntityKind(rawValue: UInt8(truncatingIfNeeded: kind)) else { continue }
            entries[nodeID, default: []].append((UInt64(bitPattern: key), kind, UInt64(bitPattern: digest)))
        }
        return entries.mapValues { NodeSnapshot(entries: $0) }
    }

    // MARK: Liveness and retention

    /// Marks nodes offline as of `at`.
    public func markOffline(_ nodeIDs: [String], at: Date) async throws {
        guard !nodeIDs.isEmpty else { return }
        try await database.execute(
            "UPDATE nodes SET online = false, offline_since = \(at) WHERE node_id = ANY(\(nodeIDs)::text[]) AND online")
    }

    /// Deletes nodes past retention with everything stored about them, under the shards' fences.
    public func expire(_ nodeIDs: [String], fences: [Int32: Int64]) async throws -> BatchOutcome {
        guard !nodeIDs.isEmpty else { return .committed }
        let outcome = try await fenced(fences) { connection, logger in
            for table in EntityKind.allCases.map(\.tableName) + ["node_commands", "nodes"] {
                try await connection.query(
                    "DELETE FROM \(unescaped: table) WHERE node_id = ANY(\(nodeIDs)::text[])", logger: logger
                ).consume()
            }
        }
        return BatchOutcome(outcome)
    }

    // MARK: Partitions

    /// Creates the daily partitions of the change log and the metric samples for the UTC days
    /// holding `dates`, if missing. Partitions are named `<table>_yyyyMMdd`.
    public func ensurePartitions(for dates: [Date]) async throws {
        let logger = self.logger
        for day in Set(dates.map(PartitionDay.init)) {
            // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: serialize
            // partition DDL (across processes too) with a transaction-scoped lock.
            try await database.transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.partitionLockKey))", logger: logger).consume()
                for table in Self.changeLogTables + Self.findingTables {
                    try await connection.query(
                        PostgresQuery(unsafeSQL: """
                            CREATE TABLE IF NOT EXISTS \(table)_\(day.name) PARTITION OF \(table)
                            FOR VALUES FROM ('\(day.start) 00:00:00+00') TO ('\(day.next.start) 00:00:00+00')
                            """), logger: logger
                    ).consume()
                }
            }
        }
    }

    /// The tables partitioned by day that `--change-log-retention` keeps.
    public static let changeLogTables = ["entity_changes", "metric_samples"]
    /// The findings tables, partitioned by the day of their scan, kept for `--scan-retention`.
    public static let findingTables = FindingKind.allCases.map(\.tableName)

    /// The advisory lock key of partition DDL (the bytes "tmparts").
    static let partitionLockKey: Int64 = 0x746D_7061_7274_73

    /// Drops the daily partitions of `tables` whose whole day is before `cutoffDay`
    /// (`yyyyMMdd`); returns their names.
    @discardableResult
    public func dropPartitions(before cutoffDay: String, of tables: [String] = changeLogTables) async throws -> [String] {
        let rows = try await database.query(
            """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(\(tables)::text[])
            """, logger: logger)
        var dropped: [String] = []
        for try await name in rows.decode(String.self) {
            let day = String(name.suffix(8))
            guard day.allSatisfy(\.isNumber), day < cutoffDay else { continue }
            let logger = self.logger
            try await database.transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.partitionLockKey))", logger: logger).consume()
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(name)"), logger: logger).consume()
            }
            dropped.append(name)
        }
        return dropped
    }
}
