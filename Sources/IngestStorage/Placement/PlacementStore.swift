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

    /// The shards of `fences` whose stored epoch is not the one held, read under a share lock
    /// that holds the epochs until the transaction ends.
    static func staleShards(_ fences: [Int32: Int64], on connection: PostgresConnection, logger: Logger) async throws -> [Int32] {
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

    /// Writes one batch in one transaction that first locks and checks the epochs of every shard
    /// in it. If any epoch moved, nothing is written and the stale shards are returned. If any
    /// node's row is no longer at the version its diff was made against, nothing is written and
    /// ``OutdatedNodes`` is thrown.
    public func write(_ batch: BatchWrite) async throws -> BatchOutcome {
        let logger = self.logger
        return try await database.transaction { connection in
            let stale = try await Self.staleShards(batch.fences, on: connection, logger: logger)
            guard stale.isEmpty else { return .stale(shards: stale) }
            try await Self.writeRows(batch, on: connection, logger: logger)
            return .committed
        }
    }

    /// A batch found these nodes' rows past the `state_version` their diffs were made against
    /// (a write whose outcome was in doubt committed after all): it was rolled back.
    public struct OutdatedNodes: Error, Sendable {
        public let nodeIDs: [String]
    }

    static func writeRows(_ batch: BatchWrite, on connection: PostgresConnection, logger: Logger) async throws {
        let at = batch.at
        if !batch.nodeIDs.isEmpty {
            // A row moves only from the version the node's diff was made against (a new row
            // starts at 1). The first statement of the transaction, so a row an earlier,
            // still-running write holds is waited for and then checked at its new version.
            let written = try await connection.query(
                """
                INSERT INTO nodes AS n (node_id, shard, kind, first_seen, last_seen, online, offline_since,
                                        last_report_id, last_report_at, beat_rate, written_epoch, state_version)
                SELECT u.id, u.shard, u.kind, \(at), \(at), true, NULL, u.report, \(at), u.beat, u.epoch, u.version + 1
                FROM UNNEST(\(batch.nodeIDs)::text[], \(batch.nodeShards)::int4[], \(batch.nodeKinds)::text[],
                            \(PostgresNullableArray(batch.nodeReportIDs))::text[], \(batch.nodeBeatRates)::int4[],
                            \(batch.nodeEpochs)::int8[], \(batch.nodeVersions)::int8[])
                     AS u(id, shard, kind, report, beat, epoch, version)
                ON CONFLICT (node_id) DO UPDATE SET shard = EXCLUDED.shard, kind = EXCLUDED.kind,
                    last_seen = EXCLUDED.last_seen, online = true, offline_since = NULL,
                    last_report_id = EXCLUDED.last_report_id, last_report_at = EXCLUDED.last_report_at,
                    beat_rate = EXCLUDED.beat_rate, written_epoch = EXCLUDED.written_epoch,
                    state_version = EXCLUDED.state_version
                WHERE n.state_version = EXCLUDED.state_version - 1
                RETURNING n.node_id
                """, logger: logger)
            var moved = Set(batch.nodeIDs)
            for try await nodeID in written.decode(String.self) { moved.remove(nodeID) }
            if !moved.isEmpty { throw OutdatedNodes(nodeIDs: moved.sorted()) }
        }
        for kind in EntityKind.allCases {
            if let rows = batch.deletions[kind], rows.count > 0 {
                let table = kind.tableName
                let idExpression = kind == .connection ? "t.source || ' -> ' || t.destination" : "t.entity_id"
                try await connection.query(
                    """
                    WITH gone AS (
                        DELETE FROM \(unescaped: table) t
                        USING UNNEST(\(rows.nodeIDs)::text[], \(rows.keys)::int8[]) AS u(node, key)
                        WHERE t.node_id = u.node AND t.entity_key = u.key
                        RETURNING t.node_id, \(unescaped: idExpression) AS entity_id)
                    INSERT INTO entity_changes (changed_at, node_id, kind, entity_id, change)
                    SELECT \(at), node_id, \(kind.name), entity_id, 'vanished' FROM gone
                    """, logger: logger
                ).consume()
            }
            if let rows = batch.upserts[kind], rows.count > 0 {
                if kind == .connection {
                    try await connection.query(
                        """
                        INSERT INTO connections (node_id, entity_key, source, destination, first_seen)
                        SELECT u.node, u.key, u.source, u.destination, \(at)
                        FROM UNNEST(\(rows.nodeIDs)::text[], \(rows.keys)::int8[], \(rows.ids)::text[], \(rows.bodies)::text[])
                             AS u(node, key, source, destination)
                        ON CONFLICT (node_id, entity_key) DO UPDATE SET source = EXCLUDED.source,
                            destination = EXCLUDED.destination
                        """, logger: logger
                    ).consume()
                } else {
                    try await connection.query(
                        """
                        INSERT INTO \(unescaped: kind.tableName) AS t
                            (node_id, entity_key, entity_id, digest, body, first_seen, changed_at)
                        SELECT u.node, u.key, u.id, u.digest, u.body::jsonb, \(at), \(at)
                        FROM UNNEST(\(rows.nodeIDs)::text[], \(rows.keys)::int8[], \(rows.ids)::text[],
                                    \(rows.digests)::int8[], \(rows.bodies)::text[]) AS u(node, key, id, digest, body)
                        ON CONFLICT (node_id, entity_key) DO UPDATE SET entity_id = EXCLUDED.entity_id,
                            digest = EXCLUDED.digest, body = EXCLUDED.body, changed_at = EXCLUDED.changed_at
                        """, logger: logger
                    ).consume()
                }
            }
        }
        if batch.changes.count > 0 {
            let changes = batch.changes
            try await connection.query(
                """
                INSERT INTO entity_changes (changed_at, node_id, kind, entity_id, change)
                SELECT \(at), u.node, u.kind, u.id, u.change
                FROM UNNEST(\(changes.nodeIDs)::text[], \(changes.kinds)::text[], \(changes.entityIDs)::text[],
                            \(changes.changes)::text[]) AS u(node, kind, id, change)
                """, logger: logger
            ).consume()
        }
        if !batch.sampleNodeIDs.isEmpty {
            try await connection.query(
                """
                INSERT INTO metric_samples (sampled_at, node_id, metrics)
                SELECT \(at), u.node, u.metrics::jsonb
                FROM UNNEST(\(batch.sampleNodeIDs)::text[], \(batch.sampleMetrics)::text[]) AS u(node, metrics)
                """, logger: logger
            ).consume()
        }
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
        let logger = self.logger
        return try await database.transaction { connection in
            let stale = try await Self.staleShards(fences, on: connection, logger: logger)
            guard stale.isEmpty else { return .stale(shards: stale) }
            for table in EntityKind.allCases.map(\.tableName) + ["node_commands", "nodes"] {
                try await connection.query(
                    "DELETE FROM \(unescaped: table) WHERE node_id = ANY(\(nodeIDs)::text[])", logger: logger
                ).consume()
            }
            return .committed
        }
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
