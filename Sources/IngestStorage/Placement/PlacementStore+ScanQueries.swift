import Foundation
import IngestCore
import PostgresNIO

/// Read paths of scans and findings for the operator API, as JSON (or CSV) text built by
/// PostgreSQL, in byte order of their keys so pages of several placements merge the same way.
extension PlacementStore {
    /// Which scans to list.
    public struct ScanFilter: Sendable, Hashable {
        public var nodeID: String?
        public var kind: FindingKind?
        public var status: ScanStatus?
        /// Return scans whose ID sorts after this one (keyset pagination).
        public var after: String?
        public var limit: Int

        public init(nodeID: String? = nil, kind: FindingKind? = nil, status: ScanStatus? = nil, after: String? = nil, limit: Int = 100) {
            self.nodeID = nodeID
            self.kind = kind
            self.status = status
            self.after = after
            self.limit = limit
        }
    }

    static let scanJSON = """
        json_build_object('id', scan_id, 'node_id', node_id, 'kind', kind, 'status', status, 'message', message,
            'progress', progress, 'findings', findings, 'counts', counts, 'command_id', command_id,
            'created_at', created_at, 'started_at', started_at, 'updated_at', updated_at, 'finished_at', finished_at)::text
        """

    /// A page of scans, each with its ID and JSON object.
    public func listScanItems(_ filter: ScanFilter) async throws -> [(id: String, json: String)] {
        let (node, kind, status, after) = (filter.nodeID, filter.kind?.rawValue, filter.status?.rawValue, filter.after)
        let rows = try await database.query(
            """
            SELECT scan_id, \(unescaped: Self.scanJSON) FROM scans
            WHERE (\(node)::text IS NULL OR node_id = \(node)::text)
              AND (\(kind)::text IS NULL OR kind = \(kind)::text)
              AND (\(status)::text IS NULL OR status = \(status)::text)
              AND (\(after)::text IS NULL OR scan_id COLLATE "C" > \(after)::text COLLATE "C")
            ORDER BY scan_id COLLATE "C" LIMIT \(Int64(filter.limit))
            """, logger: logger)
        var items: [(id: String, json: String)] = []
        for try await (id, json) in rows.decode((String, String).self) { items.append((id, json)) }
        return items
    }

    /// One scan as JSON, or nil.
    public func scan(_ scanID: String) async throws -> String? {
        for try await json in try await database.query(
            "SELECT \(unescaped: Self.scanJSON) FROM scans WHERE scan_id = \(scanID)", logger: logger
        ).decode(String.self) {
            return json
        }
        return nil
    }

    /// The kind of a stored scan, or nil.
    public func scanKind(_ scanID: String) async throws -> FindingKind? {
        for try await kind in try await database.query("SELECT kind FROM scans WHERE scan_id = \(scanID)", logger: logger).decode(String.self) {
            return FindingKind(rawValue: kind)
        }
        return nil
    }

    /// Which findings to list.
    public struct FindingFilter: Sendable, Hashable {
        public var kind: FindingKind
        public var scanID: String?
        public var nodeID: String?
        public var severity: String?
        /// Return findings after this (scan ID, key) (keyset pagination).
        public var after: (scanID: String, key: String)?
        public var limit: Int

        public init(kind: FindingKind, scanID: String? = nil, nodeID: String? = nil, severity: String? = nil, limit: Int = 100) {
            self.kind = kind
            self.scanID = scanID
            self.nodeID = nodeID
            self.severity = severity
            self.limit = limit
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.kind == rhs.kind && lhs.scanID == rhs.scanID && lhs.nodeID == rhs.nodeID && lhs.severity == rhs.severity
                && lhs.after?.scanID == rhs.after?.scanID && lhs.after?.key == rhs.after?.key && lhs.limit == rhs.limit
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(kind)
            hasher.combine(scanID)
            hasher.combine(nodeID)
            hasher.combine(severity)
            hasher.combine(after?.scanID)
            hasher.combine(after?.key)
            hasher.combine(limit)
        }
    }

    /// One finding of a page: its cursor and its JSON object, or its CSV line.
    public struct FindingItem: Sendable, Hashable {
        public var scanID: String
        public var key: String
        public var text: String
    }

    /// A page of findings, as JSON objects (`{"scan_id", "node_id", "key", "severity",
    /// "received_at", "finding"}`) or CSV lines (``FindingKind/csvColumns``).
    public func findingItems(_ filter: FindingFilter, csv: Bool) async throws -> [FindingItem] {
        let (scan, node, severity) = (filter.scanID, filter.nodeID, filter.severity)
        let (afterScan, afterKey) = (filter.after?.scanID, filter.after?.key)
        let columns = ["scan_id", "node_id", "severity", "finding_key", "to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"]
            + filter.kind.csvFields.map { field in
                "(body #>> '{\(field.split(separator: ".").joined(separator: ","))}')"
            }
        let text = csv
            ? "concat_ws(',', " + columns.map { "csv_field(\($0))" }.joined(separator: ", ") + ")"
            : "json_build_object('scan_id', scan_id, 'node_id', node_id, 'key', finding_key, 'severity', severity, 'received_at', received_at, 'finding', body)::text"
        // Keyset pages in (scan_id, finding_key) byte order, read from an index in that order
        // (the columns are "C"). After a cursor, the rest of its scan and the scans after it are
        // two ordered range scans: a row comparison instead is estimated at a row or two and
        // planned as a sort of everything after the cursor, per page.
        let table = filter.kind.tableName
        var binds = PostgresBindings(capacity: 6)
        binds.append(scan)  // $1
        binds.append(node)  // $2
        binds.append(severity)  // $3
        binds.append(Int64(filter.limit))  // $4
        let filters = """
            ($1::text IS NULL OR (scan_id = $1::text AND scan_created_at = (SELECT created_at FROM scans WHERE scan_id = $1::text)))
            AND ($2::text IS NULL OR node_id = $2::text) AND ($3::text IS NULL OR severity = $3::text)
            """
        let sql: String
        if let afterScan, let afterKey {
            binds.append(afterScan)  // $5
            binds.append(afterKey)  // $6
            sql = """
                SELECT scan_id, finding_key, \(text) FROM (
                    (SELECT * FROM \(table) WHERE \(filters) AND scan_id = $5::text AND finding_key > $6::text
                     ORDER BY scan_id, finding_key LIMIT $4)
                    UNION ALL
                    (SELECT * FROM \(table) WHERE \(filters) AND scan_id > $5::text ORDER BY scan_id, finding_key LIMIT $4)
                ) page ORDER BY scan_id, finding_key LIMIT $4
                """
        } else {
            sql = "SELECT scan_id, finding_key, \(text) FROM \(table) WHERE \(filters) ORDER BY scan_id, finding_key LIMIT $4"
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let rows = try await database.query(query, logger: logger)
        var items: [FindingItem] = []
        for try await (scanID, key, line) in rows.decode((String, String, String).self) {
            items.append(FindingItem(scanID: scanID, key: key, text: line))
        }
        return items
    }

    /// A node's latest scan of each kind, with its counts, as a JSON object keyed by kind.
    public func findingCounts(of nodeID: String) async throws -> String {
        for try await json in try await database.query(
            """
            SELECT COALESCE(json_object_agg(kind, json_build_object('scan_id', scan_id, 'status', status,
                'findings', findings, 'counts', counts, 'created_at', created_at)), '{}')::text
            FROM (SELECT DISTINCT ON (kind) * FROM scans WHERE node_id = \(nodeID) ORDER BY kind, created_at DESC, scan_id DESC) latest
            """, logger: logger
        ).decode(String.self) {
            return json
        }
        return "{}"
    }
}

extension FindingKind {
    /// The fields of a finding (dotted paths into its record) that its CSV lines carry after
    /// `scan_id, node_id, severity, finding_key, received_at`.
    public var csvFields: [String] {
        switch self {
        case .vulnerability:
            ["cve_id", "cve_caused_by_package", "cve_caused_by_package_path", "cve_severity", "cve_cvss_score", "cve_fixed_in", "cve_link"]
        case .secret: ["Rule.id", "Rule.name", "Severity.level", "Severity.score", "Match.full_filename", "Match.starting_index"]
        case .malware: ["rule_name", "class", "file_severity", "complete_filename", "summary"]
        case .compliance: ["compliance_check_type", "test_number", "test_category", "test_desc", "status", "resource"]
        case .cloudCompliance: ["compliance_check_type", "control_id", "title", "status", "resource", "region", "account_id"]
        }
    }

    /// The CSV header line of this kind's findings.
    public var csvHeader: String {
        (["scan_id", "node_id", "severity", "finding_key", "received_at"] + csvFields).joined(separator: ",")
    }
}
