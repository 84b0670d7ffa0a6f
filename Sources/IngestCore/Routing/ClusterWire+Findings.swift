/// The internal wire form of findings parts and queued scans.
extension ClusterWire {
    /// `POST`: one ``FindingsPart`` as JSON → `{"records": N}` once committed.
    public static let findingsPath = "/internal/v1/findings"

    /// A findings part as JSON; each record's object is embedded as the sensor sent it.
    public static func json(_ part: FindingsPart) -> String {
        let findings = part.findings.map {
            #"{"scan_id":\#(JSONText.quoted($0.scanID)),"key":\#(JSONText.quoted($0.key)),"severity":\#(JSONText.quoted($0.severity)),"body":\#($0.body)}"#
        }
        let statuses = part.statuses.map {
            #"{"scan_id":\#(JSONText.quoted($0.scanID)),"status":"\#($0.status.rawValue)","message":\#(JSONText.quoted($0.message)),"progress":\#($0.progress.map { "\($0)" } ?? "null")}"#
        }
        let resources = part.resources.map { #"{"key":\#(JSONText.quoted($0.key)),"body":\#($0.body)}"# }
        let sboms = part.sboms.map {
            #"{"scan_id":\#(JSONText.quoted($0.scanID)),"upload_id":\#(JSONText.quoted($0.uploadID)),"bytes":\#($0.bytes),"inflated_bytes":\#($0.inflatedBytes),"sha256":\#(JSONText.quoted($0.sha256)),"parts":\#($0.parts),"fields":\#($0.fields)}"#
        }
        return #"{"route":"\#(part.route.name)","node_id":\#(JSONText.quoted(part.nodeID)),"findings":[\#(findings.joined(separator: ","))],"statuses":[\#(statuses.joined(separator: ","))],"resources":[\#(resources.joined(separator: ","))],"sboms":[\#(sboms.joined(separator: ","))]}"#
    }

    /// Reads a part written by ``json(_:)-swift.type.method``.
    public static func findingsPart(_ bytes: [UInt8]) throws(IngestError) -> FindingsPart {
        let object = try JSONObject(parsing: bytes, maxDepth: 64)
        guard let routeName = object["route"]?.string, let route = IngestRoute(name: Substring(routeName)),
            let nodeID = object["node_id"]?.string
        else { throw .invalidRequest("internal findings: route and node_id are required") }
        var part = FindingsPart(route: route, nodeID: nodeID)
        for element in try elements(object["findings"]) {
            guard let scanID = element["scan_id"]?.string, let key = element["key"]?.string, let severity = element["severity"]?.string,
                let body = element["body"], body.kind == .object
            else { throw .invalidRequest("internal findings: a finding needs scan_id, key, severity and body") }
            part.findings.append(FindingRecord(scanID: scanID, key: key, severity: severity, body: body.raw))
        }
        for element in try elements(object["statuses"]) {
            guard let scanID = element["scan_id"]?.string, let status = element["status"]?.string.flatMap(ScanStatus.init(rawValue:))
            else { throw .invalidRequest("internal findings: a status needs scan_id and status") }
            let progress = element["progress"].flatMap { $0.kind == .number ? Double($0.raw) : nil }
            part.statuses.append(ScanStatusUpdate(scanID: scanID, status: status, message: element["message"]?.string ?? "", progress: progress))
        }
        for element in try elements(object["resources"]) {
            guard let key = element["key"]?.string, let body = element["body"], body.kind == .object else {
                throw .invalidRequest("internal findings: a resource needs key and body")
            }
            part.resources.append(CloudResourceRecord(key: key, body: body.raw))
        }
        for element in try elements(object["sboms"]) {
            guard let scanID = element["scan_id"]?.string, let upload = element["upload_id"]?.string, let bytes = element["bytes"]?.int,
                let inflated = element["inflated_bytes"]?.int, let sha = element["sha256"]?.string, let parts = element["parts"]?.int,
                let fields = element["fields"], fields.kind == .object
            else { throw .invalidRequest("internal findings: an SBOM needs scan_id, upload_id, bytes, inflated_bytes, sha256, parts, fields") }
            part.sboms.append(SBOMRecord(
                scanID: scanID, uploadID: upload, bytes: bytes, inflatedBytes: inflated, sha256: sha, parts: parts, fields: fields.raw))
        }
        return part
    }

    static func elements(_ value: JSONObject.Value?) throws(IngestError) -> [JSONObject] {
        guard let value, value.kind == .array else { return [] }
        var objects: [JSONObject] = []
        for element in try JSONObject.elements(ofArray: value.raw, maxDepth: 64) {
            objects.append(try JSONObject(parsing: Array(element.utf8), maxDepth: 64))
        }
        return objects
    }

    /// A scan to queue with its start command, as JSON.
    public static func scanJSON(scanID: String, kind: FindingKind, nodeID: String, actionID: Int, requestPayload: String) -> String {
        #"{"scan_id":\#(JSONText.quoted(scanID)),"kind":"\#(kind.rawValue)","node_id":\#(JSONText.quoted(nodeID)),"action_id":\#(actionID),"request_payload":\#(JSONText.quoted(requestPayload))}"#
    }

    /// `POST`: a scan written by ``scanJSON(scanID:kind:nodeID:actionID:requestPayload:)`` →
    /// `{"command_id"}`, or 409 while the node runs a scan of that kind.
    public static let scansPath = "/internal/v1/scans"

    /// Reads a scan written by ``scanJSON(scanID:kind:nodeID:actionID:requestPayload:)``.
    public static func scan(_ bytes: [UInt8]) throws(IngestError)
        -> (scanID: String, kind: FindingKind, nodeID: String, actionID: Int, requestPayload: String)
    {
        let object = try JSONObject(parsing: bytes)
        guard let scanID = object["scan_id"]?.string, let kind = object["kind"]?.string.flatMap(FindingKind.init(rawValue:)),
            let fields = try? command(bytes)
        else { throw .invalidRequest("internal scan: scan_id, kind, node_id, action_id and request_payload are required") }
        return (scanID, kind, fields.nodeID, fields.actionID, fields.requestPayload)
    }
}
