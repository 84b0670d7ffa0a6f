import Foundation
import IngestCore
import PostgresNIO

/// A node's change log as the operator reads it: what appeared, changed or vanished on it, and
/// when, newest first.
extension PlacementStore {
    /// Which changes to read.
    public struct ChangeFilter: Sendable, Hashable {
        /// A kind's change-log name (`node`, or an ``EntityKind/name``); all kinds when nil.
        public var kind: String?
        /// `appeared`, `changed` or `vanished`; all when nil.
        public var change: String?
        /// Only changes at or after this instant.
        public var since: Date?
        /// Only changes before this instant.
        public var until: Date?
        /// Continue after this change (keyset pagination, newest first).
        public var after: ChangeCursor?
        public var limit: Int

        public init(limit: Int = 100) { self.limit = limit }
    }

    /// A page of a node's changes, each as a JSON object, and the cursor of the next page if there
    /// may be one.
    public func changes(of nodeID: String, _ filter: ChangeFilter) async throws -> (items: [String], next: ChangeCursor?) {
        let afterAt = filter.after?.microseconds
        let afterKind = filter.after?.kind
        let afterChange = filter.after?.change
        let afterEntity = filter.after?.entityID
        let rows = try await database.query(
            """
            SELECT (extract(epoch FROM changed_at) * 1000000)::int8, kind, change, entity_id,
                   json_build_object('at', changed_at, 'kind', kind, 'entity_id', entity_id, 'change', change)::text
            FROM entity_changes
            WHERE node_id = \(nodeID)
              AND (\(filter.kind)::text IS NULL OR kind = \(filter.kind)::text)
              AND (\(filter.change)::text IS NULL OR change = \(filter.change)::text)
              AND (\(filter.since)::timestamptz IS NULL OR changed_at >= \(filter.since)::timestamptz)
              AND (\(filter.until)::timestamptz IS NULL OR changed_at < \(filter.until)::timestamptz)
              AND (\(afterAt)::int8 IS NULL OR (changed_at, kind COLLATE "C", entity_id COLLATE "C", change COLLATE "C")
                   < (timestamptz 'epoch' + \(afterAt)::int8 * interval '1 microsecond', \(afterKind)::text COLLATE "C",
                      \(afterEntity)::text COLLATE "C", \(afterChange)::text COLLATE "C"))
            ORDER BY changed_at DESC, kind COLLATE "C" DESC, entity_id COLLATE "C" DESC, change COLLATE "C" DESC
            LIMIT \(Int64(filter.limit))
            """, logger: logger)
        var items: [String] = []
        var last: ChangeCursor?
        for try await (at, kind, change, entityID, json) in rows.decode((Int64, String, String, String, String).self) {
            items.append(json)
            last = ChangeCursor(microseconds: at, kind: kind, change: change, entityID: entityID)
        }
        return (items, items.count == filter.limit ? last : nil)
    }
}
