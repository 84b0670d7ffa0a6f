import Foundation
import IngestCompression
import IngestCore
import PostgresNIO

/// Read paths of the operator API. Results come back as JSON text built by PostgreSQL, so large
/// entity lists go from the database to the client without a decode and re-encode here.
extension PlacementStore {
    /// The most a stored metric sample is inflated to when read: a sample is a small part of a
    /// report, and reports stop at `--max-report-bytes`.
    static let sampleLimit = 1 << 30

    /// Which nodes to list.
    public struct NodeFilter: Sendable, Hashable {
        public var kind: NodeKind?
        public var online: Bool?
        /// Return nodes whose ID sorts after this one (keyset pagination).
        public var after: String?
        /// Only nodes whose ID starts with this text (a range of the ID index), or Kubernetes
        /// clusters whose name does (their IDs are not their names; a host's ID is its name).
        public var prefix: String?
        public var limit: Int
        /// Add each node's ``ContentDigest`` as `"content"` (what the load-test loss check compares).
        public var content = false

        public init(kind: NodeKind? = nil, online: Bool? = nil, after: String? = nil, limit: Int = 100) {
            self.kind = kind
            self.online = online
            self.after = after
            self.limit = limit
        }
    }

    /// A page of nodes as a JSON array, and the cursor of the next page if there may be one.
    public func listNodes(_ filter: NodeFilter) async throws -> (json: String, next: String?) {
        let items = try await listNodeItems(filter)
        return ("[" + items.map(\.json).joined(separator: ",") + "]", items.count == filter.limit ? items.last?.id : nil)
    }

    /// A page of nodes, each with its ID and JSON object, in byte order of their IDs (collation
    /// "C", so pages of several placements merge the same way everywhere).
    public func listNodeItems(_ filter: NodeFilter) async throws -> [(id: String, json: String)] {
        let kind = filter.kind?.rawValue
        let after = filter.after
        let prefix = filter.prefix
        // The range's end: every ID that starts with the prefix sorts below it in byte order.
        let prefixEnd = filter.prefix.map { $0 + "\u{10FFFF}" }
        let rows = try await database.query(
            """
            SELECT node_id, \(unescaped: Self.nodeJSON)
            FROM nodes
            WHERE (\(kind)::text IS NULL OR kind = \(kind)::text)
              AND (\(filter.online)::bool IS NULL OR online = \(filter.online)::bool)
              AND (\(after)::text IS NULL OR node_id COLLATE "C" > \(after)::text COLLATE "C")
              AND (\(prefix)::text IS NULL OR (node_id COLLATE "C" >= \(prefix)::text COLLATE "C"
                   AND node_id COLLATE "C" < \(prefixEnd)::text COLLATE "C" AND starts_with(node_id, \(prefix)::text)))
            ORDER BY node_id COLLATE "C"
            LIMIT \(Int64(filter.limit))
            """, logger: logger)
        var items: [(id: String, json: String)] = []
        for try await (id, json) in rows.decode((String, String).self) {
            items.append((id, json))
        }
        if let prefix, let prefixEnd, filter.kind != .host {
            // Kubernetes clusters by name (their IDs are cluster IDs): a second range, of the
            // names' index, merged into the page in ID order.
            let clusters = try await database.query(
                """
                SELECT node_id, \(unescaped: Self.nodeJSON)
                FROM nodes
                WHERE kind = 'kubernetes_cluster'
                  AND node_id IN (SELECT c.node_id FROM kubernetes_clusters c
                                  WHERE c.name COLLATE "C" >= \(prefix)::text COLLATE "C"
                                    AND c.name COLLATE "C" < \(prefixEnd)::text COLLATE "C" AND starts_with(c.name, \(prefix)::text))
                  AND (\(filter.online)::bool IS NULL OR online = \(filter.online)::bool)
                  AND (\(after)::text IS NULL OR node_id COLLATE "C" > \(after)::text COLLATE "C")
                ORDER BY node_id COLLATE "C"
                LIMIT \(Int64(filter.limit))
                """, logger: logger)
            var seen = Set(items.map(\.id))
            for try await (id, json) in clusters.decode((String, String).self) where seen.insert(id).inserted {
                items.append((id, json))
            }
            items.sort { Array($0.id.utf8).lexicographicallyPrecedes(Array($1.id.utf8)) }
            items = Array(items.prefix(filter.limit))
        }
        guard filter.content, !items.isEmpty else { return items }
        let snapshots = try await snapshots(of: items.map(\.id))
        return items.map { item in
            let digest = ContentDigest(snapshots[item.id] ?? NodeSnapshot())
            // The object's closing brace is its last byte (json_build_object).
            return (item.id, String(item.json.dropLast()) + #","content":"# + JSONText.quoted(digest.description) + "}")
        }
    }

    /// A node and everything stored about it as one JSON object, or nil if there is no such node.
    /// `kinds` limits which entity lists are included (all when nil).
    public func nodeDetail(_ nodeID: String, kinds: Set<EntityKind>? = nil, commandLimit: Int = 20) async throws -> String? {
        var parts: [String] = []
        let node = try await database.query(
            """
            SELECT \(unescaped: Self.nodeJSON) FROM nodes WHERE node_id = \(nodeID)
            """, logger: logger)
        var nodeJSON: String?
        for try await json in node.decode(String.self) { nodeJSON = json }
        guard let nodeJSON else { return nil }
        parts.append("\"node\":\(nodeJSON)")
        var counts: [String] = []
        for kind in EntityKind.allCases where kinds?.contains(kind) ?? true {
            let json = try await entityList(kind, of: nodeID)
            parts.append("\"\(kind.tableName)\":\(json.list)")
            counts.append("\"\(kind.tableName)\":\(json.count)")
        }
        parts.append("\"counts\":{\(counts.joined(separator: ","))}")
        // Samples are stored gzipped (migration 0010); older ones, until retention drops them, as jsonb.
        let sample = try await database.query(
            """
            SELECT to_json(sampled_at)::text, metrics::text, metrics_gzip FROM metric_samples
            WHERE node_id = \(nodeID) ORDER BY sampled_at DESC LIMIT 1
            """, logger: logger)
        var sampleJSON = "null"
        for try await (at, json, gzipped) in sample.decode((String, String?, ByteBuffer?).self) {
            let metrics = json ?? gzipped.flatMap { buffer in
                buffer.withUnsafeReadableBytes { try? Gzip.decompress($0, limit: Self.sampleLimit) }.map { String(decoding: $0, as: UTF8.self) }
            }
            sampleJSON = "{\"sampled_at\":\(at),\"metrics\":\(metrics ?? "null")}"
        }
        parts.append("\"latest_metrics\":\(sampleJSON)")
        let commands = try await database.query(
            """
            SELECT coalesce(json_agg(json_build_object('id', id, 'action_id', action_id,
                'request_payload', request_payload, 'created_at', created_at, 'delivered_at', delivered_at)
                ORDER BY id DESC), '[]')::text
            FROM (SELECT * FROM node_commands WHERE node_id = \(nodeID) ORDER BY id DESC LIMIT \(Int64(commandLimit))) c
            """, logger: logger)
        for try await json in commands.decode(String.self) { parts.append("\"commands\":\(json)") }
        return "{" + parts.joined(separator: ",") + "}"
    }

    func entityList(_ kind: EntityKind, of nodeID: String) async throws -> (list: String, count: Int) {
        let object: String
        if kind == .connection {
            object = "jsonb_build_object('source', source, 'destination', destination, 'first_seen', first_seen)"
        } else {
            object = """
                jsonb_build_object('id', entity_id, 'first_seen', first_seen, 'changed_at', changed_at)
                || (to_jsonb(t) - ARRAY['node_id', 'entity_key', 'entity_id', 'digest', 'body', 'first_seen', 'changed_at'])
                || jsonb_build_object('metadata', body->'metadata', 'parents', body->'parents')
                """
        }
        let order = kind == .connection ? "source, destination" : "entity_id"
        var bindings = PostgresBindings()
        bindings.append(nodeID)
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT count(*), coalesce(jsonb_agg(\(object) ORDER BY \(order)), '[]'::jsonb)::text
                FROM \(kind.tableName) t WHERE node_id = $1
                """, binds: bindings)
        for try await (count, json) in try await database.query(query, logger: logger).decode((Int64, String).self) {
            return (json, Int(count))
        }
        return ("[]", 0)
    }

    /// Which few nodes the operator's overview shows.
    public enum NodeHighlight: Sendable {
        /// The nodes first seen most recently.
        case newest
        /// The nodes that went offline most recently.
        case silent
    }

    /// The first `limit` nodes of a highlight, each with its sort key (microseconds since the
    /// epoch of the time it is ordered by, newest first) and JSON object.
    public func nodeHighlights(_ highlight: NodeHighlight, limit: Int) async throws -> [(key: Int64, json: String)] {
        let (column, condition) = switch highlight {
        case .newest: ("first_seen", "true")
        case .silent: ("offline_since", "NOT online AND offline_since IS NOT NULL")
        }
        let query = PostgresQuery(unsafeSQL: """
            SELECT (extract(epoch FROM \(column)) * 1000000)::int8, \(Self.nodeJSON)
            FROM nodes WHERE \(condition) ORDER BY \(column) DESC LIMIT \(limit)
            """)
        var items: [(key: Int64, json: String)] = []
        for try await (key, json) in try await database.query(query, logger: logger).decode((Int64, String).self) {
            items.append((key, json))
        }
        return items
    }

    /// A node row as the operator API's JSON object.
    static let nodeJSON = """
        json_build_object(
            'id', node_id, 'kind', kind, 'online', online, 'shard', shard,
            'first_seen', first_seen, 'last_seen', last_seen, 'offline_since', offline_since,
            'last_report_id', last_report_id, 'last_report_at', last_report_at, 'beat_rate', beat_rate)::text
        """

    /// Node counts by kind and liveness.
    public func nodeCounts() async throws -> [(kind: String, online: Bool, count: Int)] {
        var counts: [(String, Bool, Int)] = []
        for try await (kind, online, count) in try await database.query(
            "SELECT kind, online, count(*) FROM nodes GROUP BY kind, online ORDER BY kind, online", logger: logger
        ).decode((String, Bool, Int64).self) {
            counts.append((kind, online, Int(count)))
        }
        return counts
    }
}
