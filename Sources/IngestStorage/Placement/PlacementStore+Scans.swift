import Foundation
import IngestCore
import PostgresNIO

/// Scans and findings: the fenced writes of a worker, and the operator API's reads.
extension PlacementStore {
    // MARK: The fenced write

    /// Writes one batch of findings, statuses and resources in one transaction under the
    /// batch's shard fences. Findings are inserted once per natural key (a resend stores
    /// nothing) and counted into their scan's totals in the same statement.
    public func write(_ batch: FindingsWrite) async throws -> BatchOutcome {
        BatchOutcome(try await fenced(batch.fences) { connection, logger in
            try await Self.writeFindingRows(batch, on: connection, logger: logger)
        })
    }

    static func writeFindingRows(_ batch: FindingsWrite, on connection: PostgresConnection, logger: Logger) async throws {
        let at = batch.at
        let scans = batch.scans
        if !scans.ids.isEmpty {
            // A scan stored under another kind (vulnerability records naming a secret scan) is
            // "updated" to itself, so the statement returns it: the whole batch is refused.
            let rows = try await connection.query(
                """
                INSERT INTO scans AS s (scan_id, node_id, shard, kind, status, created_at, started_at, updated_at, written_epoch)
                SELECT u.id, u.node, u.shard, u.kind, 'IN_PROGRESS', \(at), \(at), \(at), u.epoch
                FROM UNNEST(\(scans.ids)::text[], \(scans.nodeIDs)::text[], \(scans.shards)::int4[], \(scans.kinds)::text[],
                            \(scans.epochs)::int8[]) AS u(id, node, shard, kind, epoch)
                ON CONFLICT (scan_id) DO UPDATE SET kind = s.kind WHERE s.kind <> EXCLUDED.kind
                RETURNING s.scan_id, s.kind, s.xmax::text <> '0'
                """, logger: logger)
            var mismatch: ScanKindMismatch?
            for try await (scanID, stored, conflicted) in rows.decode((String, String, Bool).self) where conflicted && mismatch == nil {
                let sent = scans.ids.firstIndex(of: scanID).map { scans.kinds[$0] } ?? "?"
                mismatch = ScanKindMismatch(scanID: scanID, stored: stored, sent: sent)
            }
            if let mismatch { throw mismatch }
        }
        let statuses = batch.statuses
        if !statuses.scanIDs.isEmpty {
            try await connection.query(
                """
                UPDATE scans s SET status = u.status, message = u.message, progress = COALESCE(u.progress, s.progress),
                    started_at = CASE WHEN s.started_at IS NULL AND u.status <> 'QUEUED' THEN \(at) ELSE s.started_at END,
                    finished_at = CASE WHEN u.status IN \(unescaped: ScanStatus.terminalSQL) THEN \(at)::timestamptz END,
                    updated_at = \(at), written_epoch = u.epoch
                FROM UNNEST(\(statuses.scanIDs)::text[], \(statuses.statuses)::text[], \(statuses.messages)::text[],
                            \(PostgresNullableArray(statuses.progress))::float8[], \(statuses.epochs)::int8[])
                     AS u(id, status, message, progress, epoch)
                WHERE s.scan_id = u.id AND s.status NOT IN \(unescaped: ScanStatus.terminalSQL)
                """, logger: logger
            ).consume()
        }
        for kind in FindingKind.allCases {
            guard let rows = batch.findings[kind], rows.count > 0 else { continue }
            try await connection.query(
                """
                WITH stored AS (
                    INSERT INTO \(unescaped: kind.tableName) (scan_created_at, scan_id, node_id, finding_key, severity, received_at, body)
                    SELECT s.created_at, u.scan, u.node, u.key, u.severity, \(at), u.body::jsonb
                    FROM UNNEST(\(rows.scanIDs)::text[], \(rows.nodeIDs)::text[], \(rows.keys)::text[], \(rows.severities)::text[],
                                \(rows.bodies)::text[]) AS u(scan, node, key, severity, body)
                    JOIN scans s ON s.scan_id = u.scan
                    ON CONFLICT DO NOTHING
                    RETURNING scan_id, severity),
                graded AS (SELECT scan_id, severity, count(*)::int AS n FROM stored GROUP BY scan_id, severity),
                per_scan AS (SELECT scan_id, jsonb_object_agg(severity, n) AS counts, sum(n)::int AS total FROM graded GROUP BY scan_id)
                UPDATE scans s SET findings = s.findings + p.total, updated_at = \(at),
                    counts = (SELECT jsonb_object_agg(k, COALESCE((s.counts->>k)::int, 0) + COALESCE((p.counts->>k)::int, 0))
                              FROM jsonb_object_keys(s.counts || p.counts) AS k)
                FROM per_scan p WHERE s.scan_id = p.scan_id
                """, logger: logger
            ).consume()
        }
        for (sbom, nodeID, epoch) in batch.sboms {
            try await connection.query(
                """
                INSERT INTO sboms (scan_id, node_id, upload_id, bytes, inflated_bytes, sha256, parts, fields, stored_at, written_epoch)
                VALUES (\(sbom.scanID), \(nodeID), \(sbom.uploadID)::uuid, \(Int64(sbom.bytes)), \(Int64(sbom.inflatedBytes)), \(sbom.sha256),
                        \(Int32(sbom.parts)), \(sbom.fields)::jsonb, \(at), \(epoch))
                ON CONFLICT (scan_id) DO UPDATE SET node_id = EXCLUDED.node_id, upload_id = EXCLUDED.upload_id, bytes = EXCLUDED.bytes,
                    inflated_bytes = EXCLUDED.inflated_bytes, sha256 = EXCLUDED.sha256, parts = EXCLUDED.parts, fields = EXCLUDED.fields,
                    stored_at = EXCLUDED.stored_at, written_epoch = EXCLUDED.written_epoch
                """, logger: logger
            ).consume()
            try await connection.query("UPDATE scans SET updated_at = \(at) WHERE scan_id = \(sbom.scanID)", logger: logger).consume()
        }
        let resources = batch.resources
        if !resources.keys.isEmpty {
            try await connection.query(
                """
                INSERT INTO cloud_resources AS r (node_id, resource_key, body, first_seen, updated_at)
                SELECT u.node, u.key, u.body::jsonb, \(at), \(at)
                FROM UNNEST(\(resources.nodeIDs)::text[], \(resources.keys)::text[], \(resources.bodies)::text[]) AS u(node, key, body)
                ON CONFLICT (node_id, resource_key) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at
                """, logger: logger
            ).consume()
        }
    }

    /// Records of one kind naming a scan stored as another: nothing of the batch is written.
    public struct ScanKindMismatch: Error, Sendable, Hashable {
        public var scanID: String
        public var stored: String
        public var sent: String
    }

    // MARK: Queuing and ending scans

    /// How queuing a scan ended.
    public enum QueuedScan: Sendable, Hashable {
        /// The scan row (`QUEUED`) and its start command were stored.
        case queued(commandID: Int64)
        /// The node already has a scan of that kind that has not ended; nothing was stored.
        case inProgress(scanID: String)
        /// The shard's epoch moved on: nothing was stored.
        case stale
        /// Another scan has this ID (two queued in the same millisecond): nothing was stored.
        case idTaken
    }

    /// Stores a scan as `QUEUED` with its start command, in one transaction under the shard's
    /// fence, unless the node has a scan of that kind that has not ended. The findings partition
    /// of `at`'s day must exist (the caller ensures it once a day: partition DDL locks the
    /// partitioned tables, so it is not run per request).
    public func queueScan(
        scanID: String, kind: FindingKind, nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String, at: Date
    ) async throws -> QueuedScan {
        try await fenced([Int32(shard): epoch]) { connection, logger -> QueuedScan in
            // Two operators queuing the same node's scan at once: one waits for the other.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(nodeID + "\u{1}" + kind.rawValue), 0))", logger: logger
            ).consume()
            for try await open in try await connection.query(
                """
                SELECT scan_id FROM scans WHERE node_id = \(nodeID) AND kind = \(kind.rawValue) AND finished_at IS NULL
                ORDER BY created_at LIMIT 1
                """, logger: logger
            ).decode(String.self) {
                return .inProgress(scanID: open)
            }
            var inserted = false
            for try await _ in try await connection.query(
                """
                INSERT INTO scans (scan_id, node_id, shard, kind, status, created_at, updated_at, written_epoch)
                VALUES (\(scanID), \(nodeID), \(Int32(shard)), \(kind.rawValue), 'QUEUED', \(at), \(at), \(epoch))
                ON CONFLICT (scan_id) DO NOTHING RETURNING 1
                """, logger: logger
            ).decode(Int32.self) {
                inserted = true
            }
            guard inserted else { return .idTaken }
            var commandID: Int64?
            for try await id in try await connection.query(
                """
                INSERT INTO node_commands (node_id, shard, action_id, request_payload, created_at)
                VALUES (\(nodeID), \(Int32(shard)), \(Int32(actionID)), \(requestPayload), \(at)) RETURNING id
                """, logger: logger
            ).decode(Int64.self) {
                commandID = id
            }
            guard let commandID else { throw MigrationRunner.Failure(description: "command insert returned no row") }
            try await connection.query(
                "UPDATE scans SET command_id = \(commandID) WHERE scan_id = \(scanID)", logger: logger
            ).consume()
            return .queued(commandID: commandID)
        }.value ?? .stale
    }

    /// Ends, as `ERROR`, the scans of the given shards that were handed to their sensor and made
    /// no progress since `cutoff`; returns their IDs, or nil if a fence failed (nothing written).
    /// Queued scans whose command was not delivered yet wait for their node instead.
    ///
    /// The shards that hold such scans are found first, without a lock (the open scans' partial
    /// index); only those are fenced and updated, so a sweep of a worker owning thousands of
    /// shards with no stalled scan is one index read, not a share lock on every shard's epoch.
    public func failStalledScans(fences: [Int32: Int64], before cutoff: Date, at: Date, message: String) async throws -> [String]? {
        guard !fences.isEmpty else { return [] }
        var stalled: [Int32: Int64] = [:]
        for try await shard in try await database.query(
            """
            SELECT DISTINCT shard FROM scans
            WHERE shard = ANY(\(Array(fences.keys))::int4[]) AND finished_at IS NULL AND status <> 'QUEUED' AND updated_at < \(cutoff)
            """, logger: logger
        ).decode(Int32.self) {
            stalled[shard] = fences[shard]
        }
        guard !stalled.isEmpty else { return [] }
        return try await fenced(stalled) { connection, logger in
            var failed: [String] = []
            for try await id in try await connection.query(
                """
                UPDATE scans SET status = 'ERROR', message = \(message), finished_at = \(at), updated_at = \(at)
                WHERE shard = ANY(\(Array(stalled.keys))::int4[]) AND finished_at IS NULL AND status <> 'QUEUED'
                  AND updated_at < \(cutoff)
                RETURNING scan_id
                """, logger: logger
            ).decode(String.self) {
                failed.append(id)
            }
            return failed
        }.value
    }

    /// Deletes the scans created before `cutoff` and their SBOM rows (their findings go with
    /// their day's partitions, their SBOM parts with the orphan sweep).
    @discardableResult
    public func deleteScans(createdBefore cutoff: Date) async throws -> Int {
        var count = 0
        for try await _ in try await database.query(
            "DELETE FROM scans WHERE created_at < \(cutoff) RETURNING 1", logger: logger
        ).decode(Int32.self) {
            count += 1
        }
        try await database.execute("DELETE FROM sboms s WHERE NOT EXISTS (SELECT 1 FROM scans WHERE scan_id = s.scan_id)")
        return count
    }
}
