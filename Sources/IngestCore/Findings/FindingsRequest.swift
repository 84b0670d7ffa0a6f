/// One finding as it is stored: its scan, its natural key within the scan, its grade, and the
/// record as the sensor sent it.
public struct FindingRecord: Sendable, Hashable {
    public var scanID: String
    /// The natural key (``FindingKind/keyFields`` joined by `|`): a resent finding has the same.
    public var key: String
    /// Lower case; `unknown` when the record has none.
    public var severity: String
    /// The record's JSON object text.
    public var body: String

    public init(scanID: String, key: String, severity: String, body: String) {
        self.scanID = scanID
        self.key = key
        self.severity = severity
        self.body = body
    }
}

/// One status report of a scan.
public struct ScanStatusUpdate: Sendable, Hashable {
    public var scanID: String
    public var status: ScanStatus
    public var message: String
    /// Percent of checks done, when the record says (cloud compliance: `result` over `total_checks`).
    public var progress: Double?

    public init(scanID: String, status: ScanStatus, message: String, progress: Double? = nil) {
        self.scanID = scanID
        self.status = status
        self.message = message
        self.progress = progress
    }
}

/// One resource of a cloud account's inventory.
public struct CloudResourceRecord: Sendable, Hashable {
    /// `arn`, else `id`, else `resource_id`.
    public var key: String
    public var body: String

    public init(key: String, body: String) {
        self.key = key
        self.body = body
    }
}

/// An SBOM upload stored in parts, as its scan's row records it.
public struct SBOMRecord: Sendable, Hashable {
    public var scanID: String
    /// The UUID the parts are stored under.
    public var uploadID: String
    /// Bytes of the gzipped SBOM, and what they inflate to.
    public var bytes: Int
    public var inflatedBytes: Int
    /// SHA-256 of the gzipped SBOM, hex.
    public var sha256: String
    public var parts: Int
    /// The upload's other members as a JSON object.
    public var fields: String

    public init(scanID: String, uploadID: String, bytes: Int, inflatedBytes: Int, sha256: String, parts: Int, fields: String) {
        self.scanID = scanID
        self.uploadID = uploadID
        self.bytes = bytes
        self.inflatedBytes = inflatedBytes
        self.sha256 = sha256
        self.parts = parts
        self.fields = fields
    }
}

/// The records of one request that belong to one node: the unit a gateway hands to the node's
/// owner. A request spanning several nodes is split into one part per node.
public struct FindingsPart: Sendable, Hashable {
    public var route: IngestRoute
    /// The node the records belong to (for cloud resources, the cloud account).
    public var nodeID: String
    public var findings: [FindingRecord] = []
    public var statuses: [ScanStatusUpdate] = []
    public var resources: [CloudResourceRecord] = []
    public var sboms: [SBOMRecord] = []

    public init(route: IngestRoute, nodeID: String) {
        self.route = route
        self.nodeID = nodeID
    }

    /// Records in the part.
    public var count: Int { findings.count + statuses.count + resources.count + sboms.count }

    /// The scans the part names, in first-seen order.
    public var scanIDs: [String] {
        var seen = Set<String>()
        return (findings.map(\.scanID) + statuses.map(\.scanID) + sboms.map(\.scanID)).filter { seen.insert($0).inserted }
    }
}

/// Decodes the body of a findings, scan status or cloud resource route (a JSON array of
/// objects, upstream schemas `Ingesters*`) and splits it per node.
///
/// ## Overview
/// Each record's node is read from its scan ID (``ScanID``), else from its own `node_id`; cloud
/// resources belong to their `account_id`. A record that names no node, misses the field its
/// natural key starts with, or is not an object fails the whole request with a 400 naming the
/// record's index and the field, before anything is stored. Records repeated within a request
/// (same scan and key) are kept once.
public enum FindingsRequest {
    /// What one request may hold.
    public struct Limits: Sendable, Hashable {
        /// Most records in one request (`--max-findings-per-request`, default 10,000; upstream
        /// shippers send at most 100).
        public var maxRecords: Int = 10_000
        /// Deepest nesting of a record (`--max-json-depth`).
        public var maxDepth: Int = 32

        public init(maxRecords: Int = 10_000, maxDepth: Int = 32) {
            self.maxRecords = maxRecords
            self.maxDepth = maxDepth
        }
    }

    /// The parts of a request to `route`, one per node, in the order their nodes first appear.
    public static func parse(_ body: [UInt8], route: IngestRoute, limits: Limits = Limits()) throws(IngestError) -> [FindingsPart] {
        let text = String(decoding: body, as: UTF8.self).trimmingWhitespace
        if text == "null" { return [] }
        guard text.first == "[" else { throw .invalidRequest("the body must be a JSON array of records (or null)") }
        let elements = try JSONObject.elements(ofArray: String(text), maxDepth: limits.maxDepth + 1)
        guard elements.count <= limits.maxRecords else {
            throw .reportTooComplex("\(elements.count) records, more than \(limits.maxRecords)", setting: "--max-findings-per-request")
        }
        var parts: [FindingsPart] = []
        var partIndex: [String: Int] = [:]
        var seen = Set<String>()
        for (index, element) in elements.enumerated() {
            let record: JSONObject
            do {
                record = try JSONObject(parsing: Array(element.utf8), maxDepth: limits.maxDepth)
            } catch {
                throw error.within("record \(index)")
            }
            let nodeID: String
            let add: (inout FindingsPart) -> Void
            switch route {
            case .findings(let kind):
                let scanID = try Self.scanID(record, index: index)
                nodeID = try Self.nodeID(record, scanID: scanID, index: index)
                let key = try Self.key(record, kind: kind, index: index)
                guard seen.insert(scanID + "\u{0}" + key).inserted else { continue }
                let severity = Self.field(record, kind.severityField)?.lowercased() ?? ""
                let finding = FindingRecord(scanID: scanID, key: key, severity: severity.isEmpty ? "unknown" : severity, body: element)
                add = { $0.findings.append(finding) }
            case .scanStatus(let kind):
                let scanID = try Self.scanID(record, index: index)
                nodeID = try Self.nodeID(record, scanID: scanID, index: index)
                guard let text = record["scan_status"]?.string, let status = ScanStatus(reported: text) else {
                    throw .invalidRequest(
                        "record \(index): scan_status must be one of \(ScanStatus.reportable.map(\.rawValue).joined(separator: ", "))")
                }
                let update = ScanStatusUpdate(
                    scanID: scanID, status: status, message: record["scan_message"]?.string ?? "",
                    progress: kind == .cloudCompliance ? Self.progress(record) : nil)
                add = { $0.statuses.append(update) }
            case .sbom:
                throw .invalidRequest("an SBOM upload is one JSON object, read by SBOMUploadReader")
            case .cloudResources:
                guard let account = record["account_id"]?.string, !account.isEmpty, account.utf8.count <= SensorRequest.maxNodeIDBytes else {
                    throw .invalidRequest("record \(index): account_id, a non-empty string, is required")
                }
                guard let key = ["arn", "id", "resource_id"].lazy.compactMap({ record[$0]?.string }).first(where: { !$0.isEmpty }) else {
                    throw .invalidRequest("record \(index): one of arn, id or resource_id is required")
                }
                nodeID = account
                guard seen.insert(account + "\u{0}" + key).inserted else { continue }
                let resource = CloudResourceRecord(key: key, body: element)
                add = { $0.resources.append(resource) }
            }
            if let at = partIndex[nodeID] {
                add(&parts[at])
            } else {
                partIndex[nodeID] = parts.count
                var part = FindingsPart(route: route, nodeID: nodeID)
                add(&part)
                parts.append(part)
            }
        }
        return parts
    }

    static func scanID(_ record: JSONObject, index: Int) throws(IngestError) -> String {
        guard let scanID = record["scan_id"]?.string, !scanID.isEmpty, scanID.utf8.count <= ScanID.maxBytes else {
            throw .invalidRequest("record \(index): scan_id, a non-empty string of at most \(ScanID.maxBytes) bytes, is required")
        }
        return scanID
    }

    static func nodeID(_ record: JSONObject, scanID: String, index: Int) throws(IngestError) -> String {
        if let node = ScanID.nodeID(of: scanID) { return node }
        guard let node = record["node_id"]?.string, !node.isEmpty, node.utf8.count <= SensorRequest.maxNodeIDBytes else {
            throw .invalidRequest(
                "record \(index): scan_id is not of the form <node_id>-<digits> and the record names no node_id, so it belongs to no node")
        }
        return node
    }

    static func key(_ record: JSONObject, kind: FindingKind, index: Int) throws(IngestError) -> String {
        let values = kind.keyFields.map { Self.field(record, $0) }
        guard let first = values.first ?? nil, !first.isEmpty else {
            throw .invalidRequest("record \(index): \(kind.keyFields[0]) is required (it identifies the finding)")
        }
        return values.map { $0 ?? "" }.joined(separator: "|")
    }

    /// A field's value as text (strings decoded, numbers and booleans as written), following
    /// `a.b` into nested objects; nil when missing or null.
    static func field(_ record: JSONObject, _ path: String) -> String? {
        let names = path.split(separator: ".").map(String.init)
        var object = record
        for name in names.dropLast() {
            guard let value = object[name], value.kind == .object,
                let nested = try? JSONObject(parsing: Array(value.raw.utf8))
            else { return nil }
            object = nested
        }
        guard let value = object[names.last ?? ""] else { return nil }
        switch value.kind {
        case .string: return value.string
        case .number, .bool: return value.raw
        case .null, .object, .array: return nil
        }
    }

    /// Cloud compliance: checks counted in `result` over `total_checks`, in percent.
    static func progress(_ record: JSONObject) -> Double? {
        guard let total = record["total_checks"]?.int, total > 0, let result = record["result"], result.kind == .object,
            let counts = try? JSONObject(parsing: Array(result.raw.utf8))
        else { return nil }
        let done = ["alarm", "ok", "info", "skip", "error"].compactMap { counts[$0]?.int }.reduce(0, +)
        return min(100, Double(done) * 100 / Double(total))
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return self[start...end]
    }
}
