import IngestCore
import Testing

struct FindingsRequestTests {
    func parse(_ json: String, _ route: IngestRoute, limits: FindingsRequest.Limits = .init()) throws(IngestError) -> [FindingsPart] {
        try FindingsRequest.parse(Array(json.utf8), route: route, limits: limits)
    }

    @Test func everyRouteNameMapsBackToItsRoute() {
        for route in IngestRoute.all { #expect(IngestRoute(name: Substring(route.name)) == route) }
        #expect(IngestRoute(name: "report") == nil)
        #expect(IngestRoute(name: "vulnerabilities-scan-log") == nil)
        #expect(IngestRoute.all.count == 11)
    }

    @Test(arguments: [
        ("host-1", 1_700_000_000_123 as Int64), ("ip-10-0-0-1.ec2.internal", 5), ("a-b-c", 0), ("-x", 9),
    ])
    func scanIDsCarryTheirNode(node: String, milliseconds: Int64) {
        let id = ScanID.make(nodeID: node, at: Timestamp(milliseconds: milliseconds))
        #expect(ScanID.nodeID(of: id) == node)
    }

    @Test(arguments: ["nodash", "host-", "host-12a", "-123", "host-1-2-x"])
    func foreignScanIDsNameNoNode(id: String) {
        #expect(ScanID.nodeID(of: id) == nil)
    }

    @Test func recordsAreSplitPerNodeInFirstSeenOrder() throws {
        let body = """
            [{"scan_id":"b-2","cve_id":"CVE-1","cve_caused_by_package":"openssl","cve_severity":"High"},
             {"scan_id":"a-1","cve_id":"CVE-1","cve_caused_by_package":"openssl","cve_severity":"critical"},
             {"scan_id":"b-2","cve_id":"CVE-2","cve_caused_by_package":"zlib"},
             {"scan_id":"b-2","cve_id":"CVE-1","cve_caused_by_package":"openssl","cve_severity":"High"}]
            """
        let parts = try parse(body, .findings(.vulnerability))
        #expect(parts.map(\.nodeID) == ["b", "a"])
        // The repeated record (same scan, CVE and package) is kept once.
        #expect(parts[0].findings.map(\.key) == ["CVE-1|openssl", "CVE-2|zlib"])
        #expect(parts[0].findings.map(\.severity) == ["high", "unknown"])
        #expect(parts[1].findings.map(\.severity) == ["critical"])
        #expect(parts[0].findings[0].body.contains(#""cve_id":"CVE-1""#))
    }

    @Test(arguments: [
        (FindingKind.secret, #"{"scan_id":"n-1","Rule":{"id":7,"name":"aws key"},"Match":{"full_filename":"/etc/x","starting_index":12},"Severity":{"level":"High","score":8.1}}"#, "7|/etc/x|12", "high"),
        (.malware, #"{"scan_id":"n-1","rule_name":"eicar","complete_filename":"/tmp/e","file_severity":"medium"}"#, "eicar|/tmp/e", "medium"),
        (.compliance, #"{"scan_id":"n-1","test_number":"1.1","compliance_check_type":"cis","resource":"r","status":"alarm","node_id":"n"}"#, "1.1|cis|r", "alarm"),
        (.cloudCompliance, #"{"scan_id":"acct-1","control_id":"c.1","resource":"arn:x","region":"us-east-1","status":"ok"}"#, "c.1|arn:x|us-east-1", "ok"),
    ])
    func eachKindHasItsNaturalKeyAndGrade(kind: FindingKind, record: String, key: String, severity: String) throws {
        let parts = try parse("[\(record)]", .findings(kind))
        #expect(parts.count == 1)
        #expect(parts[0].findings.first?.key == key)
        #expect(parts[0].findings.first?.severity == severity)
    }

    @Test func aForeignScanIDNeedsTheRecordsNode() throws {
        let parts = try parse(#"[{"scan_id":"compliance-scan","node_id":"host-9","test_number":"2"}]"#, .findings(.compliance))
        #expect(parts.map(\.nodeID) == ["host-9"])
        #expect(throws: IngestError.self) { try parse(#"[{"scan_id":"compliance-scan","test_number":"2"}]"#, .findings(.compliance)) }
    }

    @Test func badRecordsFailTheRequestNamingTheRecordAndField() {
        let cases: [(String, IngestRoute, String)] = [
            (#"[{"cve_id":"CVE-1"}]"#, .findings(.vulnerability), "record 0: scan_id"),
            (#"[{"scan_id":"n-1","cve_id":"CVE-1"},{"scan_id":"n-1"}]"#, .findings(.vulnerability), "record 1: cve_id is required"),
            (#"[{"scan_id":"n-1","scan_status":"DONE"}]"#, .scanStatus(.secret), "record 0: scan_status must be one of"),
            (#"[{"scan_id":"n-1","scan_status":"COMPLETE"},5]"#, .scanStatus(.malware), "record 1"),
            (#"[{"arn":"x"}]"#, .cloudResources, "record 0: account_id"),
            (#"[{"account_id":"a"}]"#, .cloudResources, "record 0: one of arn, id or resource_id"),
            (#"{"scan_id":"n-1"}"#, .scanStatus(.secret), "JSON array"),
        ]
        for (body, route, message) in cases {
            #expect {
                try parse(body, route)
            } throws: { error in
                (error as? IngestError).map { $0.httpStatus == 400 && $0.message.contains(message) } ?? false
            }
        }
    }

    @Test func nullAndEmptyArraysHoldNoParts() throws {
        #expect(try parse("null", .findings(.secret)).isEmpty)
        #expect(try parse(" [ ] ", .findings(.secret)).isEmpty)
    }

    @Test func tooManyRecordsNameTheSetting() {
        let body = "[" + (0..<11).map { #"{"scan_id":"n-1","rule_name":"r\#($0)"}"# }.joined(separator: ",") + "]"
        #expect {
            try parse(body, .findings(.malware), limits: .init(maxRecords: 10))
        } throws: { error in
            (error as? IngestError)?.setting == "--max-findings-per-request"
        }
    }

    @Test func statusesKeepTheirOrderAndCloudProgress() throws {
        let parts = try parse(
            #"[{"scan_id":"n-1","scan_status":"in-progress","total_checks":200,"result":{"ok":50,"alarm":30,"skip":20}},{"scan_id":"n-1","scan_status":"COMPLETE"}]"#,
            .scanStatus(.cloudCompliance))
        #expect(parts[0].statuses.map(\.status) == [.inProgress, .complete])
        #expect(parts[0].statuses[0].progress == 50)
        #expect(ScanStatus(reported: "FAILED") == .error)
        #expect(ScanStatus(reported: "QUEUED") == nil)
    }

    @Test func terminalStatesAreFinal() {
        #expect(ScanStatus.fold(.queued, [.starting, .inProgress]) == .inProgress)
        #expect(ScanStatus.fold(.inProgress, [.complete, .inProgress]) == .complete)
        #expect(ScanStatus.fold(.error, [.inProgress, .complete]) == .error)
        #expect(ScanStatus.fold(nil, []) == nil)
    }

    @Test func partsRoundTripTheInternalWire() throws {
        var part = FindingsPart(route: .scanStatus(.cloudCompliance), nodeID: "acct \"1\"")
        part.statuses = [ScanStatusUpdate(scanID: "acct-1", status: .inProgress, message: "a\nb", progress: 12.5)]
        part.findings = [FindingRecord(scanID: "acct-1", key: "k|1", severity: "ok", body: #"{"x":[1,{"y":"\u00e9"}]}"#)]
        part.resources = [CloudResourceRecord(key: "arn:1", body: #"{"arn":"arn:1"}"#)]
        #expect(try ClusterWire.findingsPart(Array(ClusterWire.json(part).utf8)) == part)
    }
}

struct FindingsRequestEscapeTests {
    @Test func escapedQuotesInValuesAreRead() throws {
        let body = #"[{"scan_id":"n-1","rule_name":"r1","complete_filename":"=HYPERLINK(\"http://x\")","summary":"a,b"}]"#
        let parts = try FindingsRequest.parse(Array(body.utf8), route: .findings(.malware))
        #expect(parts.first?.findings.first?.key == #"r1|=HYPERLINK("http://x")"#)
    }
}
