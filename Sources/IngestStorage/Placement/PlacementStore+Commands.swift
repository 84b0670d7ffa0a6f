import Foundation
import IngestCore
import PostgresNIO

extension PlacementStore {
    /// A command queued for a node.
    public struct CommandRecord: Sendable, Hashable {
        public var id: Int64
        public var nodeID: String
        public var shard: Int
        public var actionID: Int
        public var requestPayload: String
        public var createdAt: Date
        public var deliveredAt: Date?
    }

    /// Queues a command under the shard's fence; returns its row, or nil if the shard's epoch
    /// moved on (nothing was stored: the shard has another owner now).
    public func queueCommand(nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String) async throws
        -> CommandRecord?
    {
        try await fenced([Int32(shard): epoch]) { connection, logger -> CommandRecord in
            let rows = try await connection.query(
                """
                INSERT INTO node_commands (node_id, shard, action_id, request_payload)
                VALUES (\(nodeID), \(Int32(shard)), \(Int32(actionID)), \(requestPayload))
                RETURNING id, created_at
                """, logger: logger)
            for try await (id, created) in rows.decode((Int64, Date).self) {
                return CommandRecord(id: id, nodeID: nodeID, shard: shard, actionID: actionID, requestPayload: requestPayload,
                                     createdAt: created, deliveredAt: nil)
            }
            throw MigrationRunner.Failure(description: "command insert returned no row")
        }.value
    }

    /// The undelivered commands of the given shards, oldest first.
    public func pendingCommands(inShards shards: [Int]) async throws -> [CommandRecord] {
        guard !shards.isEmpty else { return [] }
        return try await commandRecords(
            """
            SELECT id, node_id, shard, action_id, request_payload, created_at, delivered_at FROM node_commands
            WHERE delivered_at IS NULL AND shard = ANY(\(shards.map { Int32($0) })::int4[]) ORDER BY id
            """)
    }

    /// A node's commands, newest first.
    public func commands(of nodeID: String, limit: Int) async throws -> [CommandRecord] {
        try await commandRecords(
            """
            SELECT id, node_id, shard, action_id, request_payload, created_at, delivered_at FROM node_commands
            WHERE node_id = \(nodeID) ORDER BY id DESC LIMIT \(Int64(limit))
            """)
    }

    func commandRecords(_ query: PostgresQuery) async throws -> [CommandRecord] {
        var records: [CommandRecord] = []
        for try await (id, node, shard, action, payload, created, delivered) in try await database.query(query, logger: logger)
            .decode((Int64, String, Int32, Int32, String, Date, Date?).self)
        {
            records.append(CommandRecord(id: id, nodeID: node, shard: Int(shard), actionID: Int(action),
                                         requestPayload: payload, createdAt: created, deliveredAt: delivered))
        }
        return records
    }

    /// What one delivery marked: the commands, and the scans they start (now `STARTING`).
    public struct Delivery: Sendable, Hashable {
        public var commands: Set<Int64> = []
        public var scans: [String] = []
    }

    /// Marks commands delivered, under the shard's fence; returns the IDs this call marked (a
    /// command already marked by anyone is not returned again) and the scans they start, or nil
    /// if the fence failed.
    public func markDelivered(_ ids: [Int64], shard: Int, epoch: Int64, at: Date) async throws -> Delivery? {
        guard !ids.isEmpty else { return Delivery() }
        return try await fenced([Int32(shard): epoch]) { connection, logger in
            var delivery = Delivery()
            for try await id in try await connection.query(
                """
                UPDATE node_commands SET delivered_at = \(at)
                WHERE id = ANY(\(ids)::int8[]) AND delivered_at IS NULL RETURNING id
                """, logger: logger
            ).decode(Int64.self) {
                delivery.commands.insert(id)
            }
            // The scans these commands start are handed to their sensor now.
            if !delivery.commands.isEmpty {
                for try await scan in try await connection.query(
                    """
                    UPDATE scans SET status = 'STARTING', started_at = \(at), updated_at = \(at)
                    WHERE command_id = ANY(\(Array(delivery.commands))::int8[]) AND status = 'QUEUED' RETURNING scan_id
                    """, logger: logger
                ).decode(String.self) {
                    delivery.scans.append(scan)
                }
            }
            return delivery
        }.value
    }

    /// The scans of the given shards handed to their sensors that have not been reported on
    /// (`STARTING`), with their node and when they were handed out.
    public func scansAwaitingStart(inShards shards: [Int]) async throws -> [(scanID: String, nodeID: String, since: Date)] {
        guard !shards.isEmpty else { return [] }
        var scans: [(scanID: String, nodeID: String, since: Date)] = []
        for try await (id, node, since) in try await database.query(
            """
            SELECT scan_id, node_id, updated_at FROM scans
            WHERE finished_at IS NULL AND status = 'STARTING' AND shard = ANY(\(shards.map { Int32($0) })::int4[])
            """, logger: logger
        ).decode((String, String, Date).self) {
            scans.append((id, node, since))
        }
        return scans
    }
}
