import Foundation
import IngestCompression
import IngestCore
import IngestStorage
import IngestTestSupport
import IngestTransport
import NIOHTTP1
import Synchronization
import Testing

/// Scan results end to end: records generated from every upstream `Ingesters*` schema posted
/// over real TLS + HTTP/2, stored once, read back through the operator API; scans queued,
/// delivered, finished, or failed when stuck (on the fake clock); requests split per node.
@Suite(.timeLimit(.minutes(3)))
struct FindingsTests {
    /// The upstream schema of each kind's findings and status records.
    static let findingSchemas: [FindingKind: (findings: String, status: String)] = [
        .vulnerability: ("IngestersVulnerability", "IngestersVulnerabilityScanStatus"),
        .secret: ("IngestersSecret", "IngestersSecretScanStatus"),
        .malware: ("IngestersMalware", "IngestersMalwareScanStatus"),
        .compliance: ("IngestersCompliance", "IngestersComplianceScanStatus"),
        .cloudCompliance: ("IngestersCloudCompliance", "IngestersCloudComplianceScanStatus"),
    ]

    /// The grades the generated findings of `kind` cycle through.
    static func grades(_ kind: FindingKind) -> [String] {
        kind == .compliance || kind == .cloudCompliance ? ["alarm", "ok", "info", "skip"] : ["critical", "high", "medium", "low", "unknown"]
    }

    /// Record `index` of `kind` for `scan`: every field of the upstream schema, with the scan,
    /// a key unique per index and a grade from ``grades(_:)``.
    static func finding(_ kind: FindingKind, scan: String, index: Int, schemas: OpenAPISchemas, node: String = "") -> String {
        let grade = grades(kind)[index % grades(kind).count]
        var overrides = ["scan_id": JSONText.quoted(scan)]
        switch kind {
        case .vulnerability:
            overrides["cve_id"] = JSONText.quoted("CVE-2026-\(index)")
            overrides["cve_severity"] = JSONText.quoted(grade.uppercased())
        case .secret:
            overrides["Rule.id"] = "\(index)"
            overrides["Severity.level"] = JSONText.quoted(grade)
        case .malware:
            overrides["rule_name"] = JSONText.quoted("rule-\(index)")
            overrides["file_severity"] = JSONText.quoted(grade)
        case .compliance:
            overrides["test_number"] = JSONText.quoted("\(index)")
            overrides["status"] = JSONText.quoted(grade)
            overrides["node_id"] = JSONText.quoted(node)
        case .cloudCompliance:
            overrides["control_id"] = JSONText.quoted("control.\(index)")
            overrides["status"] = JSONText.quoted(grade)
        }
        return schemas.record(findingSchemas[kind]!.findings, seed: index, overrides: overrides)
    }

    static func status(_ kind: FindingKind, scan: String, _ status: String, schemas: OpenAPISchemas) -> String {
        schemas.record(findingSchemas[kind]!.status, seed: 1, overrides: [
            "scan_id": JSONText.quoted(scan), "scan_status": JSONText.quoted(status), "total_checks": "400",
            "result": #"{"alarm":10,"ok":90,"info":0,"skip":0,"error":0}"#,
        ])
    }

    /// A session on a console: an HTTP/2 connection with a sensor and an admin token.
    struct Session {
        let console: TestConsole
        let connection: HTTPClientConnection
        var sensor: String
        var admin: String

        static func open(_ console: TestConsole) async throws -> Session {
            let connection = try await console.connect(http2: true)
            #expect(connection.isHTTP2)
            return Session(
                console: console, connection: connection, sensor: try await console.login(console.sensorKey, on: connection).access,
                admin: try await console.login(console.adminKey, on: connection).access)
        }

        mutating func relogin() async throws {
            sensor = try await console.login(console.sensorKey, on: connection).access
            admin = try await console.login(console.adminKey, on: connection).access
        }

        func post(_ route: String, _ records: [String]) async throws -> ClientResponse {
            try await connection.postJSON("/deepfence/ingest/\(route)", "[" + records.joined(separator: ",") + "]", token: sensor)
        }

        func get(_ path: String) async throws -> ClientResponse { try await connection.get(path, token: admin) }

        func report(_ host: String) async throws {
            #expect(try await connection.postReport(gzippedReport(hostname: host), token: sensor).status == .ok)
        }

        func queue(_ kind: FindingKind, on node: String) async throws -> ClientResponse {
            try await connection.postJSON("/api/v1/nodes/\(node)/scans", #"{"kind":"\#(kind.rawValue)"}"#, token: admin)
        }
    }

    @Test(.needsUpstreamArtefacts, arguments: [HTTPServer.HTTP2Mode.frames, .multiplexed])
    func everyUpstreamSchemaIsStoredOnceAndReadBack(mode: HTTPServer.HTTP2Mode) async throws {
        let schemas = try OpenAPISchemas.upstream()
        for (findings, status) in Self.findingSchemas.values {
            #expect((schemas.schemas[findings]?.count ?? 0) > 3, "\(findings) read from the upstream excerpt")
            #expect(schemas.schemas[status]?.contains { $0.name == "scan_status" } == true)
        }
        try await TestConsole.with("findings") { configuration in
            configuration.listener.http2Mode = mode
        } _: { console in
            let session = try await Session.open(console)
            let node = "scan-host"
            try await session.report(node)
            // Four scans queued through the operator API, one per kind a host sensor runs.
            var scans: [FindingKind: String] = [:]
            for kind in FindingKind.allCases where kind.startAction != nil {
                let queued = try await session.queue(kind, on: node)
                #expect(queued.status == .created, "\(kind): \(queued.text)")
                scans[kind] = try #require(try json(queued)["scan_id"] as? String)
                #expect(try await session.queue(kind, on: node).status == .conflict)
            }
            // The sensor polls with room for all four: each command names its scan.
            let poll = try json(try await session.connection.postJSON(
                "/deepfence/controls/agent", #"{"node_id":"\#(node)","available_workload":4}"#, token: session.sensor))
            let payloads = (poll["commands"] as? [[String: Any]] ?? []).compactMap { $0["request_payload"] as? String }
            #expect(payloads.count == 4)
            for scan in scans.values { #expect(payloads.contains { $0.contains(#""scan_id":"\#(scan)""#) }) }
            #expect(try await console.database.count("SELECT count(*) FROM scans WHERE status = 'STARTING'") == 4)
            // A cloud compliance scan this console did not start: kept under the account's node.
            let account = "cloud-account-1"
            scans[.cloudCompliance] = ScanID.make(nodeID: account, at: console.clock.now())

            let total = 250
            for (kind, scan) in scans {
                #expect(try await session.post(kind.statusRoute, [Self.status(kind, scan: scan, "IN_PROGRESS", schemas: schemas)]).status == .ok)
                let records = (0..<total).map { Self.finding(kind, scan: scan, index: $0, schemas: schemas, node: node) }
                // As upstream shippers send them: batches of at most 100.
                for start in stride(from: 0, to: total, by: 100) {
                    let response = try await session.post(kind.findingsRoute, Array(records[start..<min(start + 100, total)]))
                    #expect(response.status == .ok, "\(kind): \(response.text)")
                }
                // A resent batch stores nothing twice.
                #expect(try await session.post(kind.findingsRoute, Array(records[0..<100])).status == .ok)
                #expect(try await session.post(kind.statusRoute, [Self.status(kind, scan: scan, "COMPLETE", schemas: schemas)]).status == .ok)
                // A late status does not reopen a finished scan.
                #expect(try await session.post(kind.statusRoute, [Self.status(kind, scan: scan, "IN_PROGRESS", schemas: schemas)]).status == .ok)
            }

            for (kind, scan) in scans {
                #expect(try await console.database.count("SELECT count(*) FROM \(kind.tableName) WHERE scan_id = '\(scan)'") == total)
                let detail = try json(try await session.get("/api/v1/scans/\(scan)"))
                #expect(detail["status"] as? String == "COMPLETE", "\(kind)")
                #expect(detail["findings"] as? Int == total)
                #expect(detail["finished_at"] is String)
                let grades = Self.grades(kind)
                let expected = Dictionary(grouping: 0..<total, by: { grades[$0 % grades.count] }).mapValues(\.count)
                #expect(detail["counts"] as? [String: Int] == expected, "\(kind)")
                if kind == .cloudCompliance { #expect(detail["progress"] as? Double == 25) }

                // Pages of 100 in JSON: every finding once, each with the record as sent.
                var keys = Set<String>()
                var cursor: String?
                var pages = 0
                repeat {
                    let page = try json(try await session.get(
                        "/api/v1/scans/\(scan)/findings?limit=100" + (cursor.map { "&after=\($0)" } ?? "")))
                    let items = page["findings"] as? [[String: Any]] ?? []
                    for item in items { keys.insert(try #require(item["key"] as? String)) }
                    #expect(items.allSatisfy { ($0["finding"] as? [String: Any])?["scan_id"] as? String == scan })
                    cursor = page["next"] as? String
                    pages += 1
                } while cursor != nil && pages < 10
                #expect(keys.count == total && pages == 3, "\(kind): \(keys.count) keys in \(pages) pages")

                // CSV: a header and one line per finding; a severity filter.
                let csv = try await session.get("/api/v1/scans/\(scan)/findings?format=csv&limit=1000")
                #expect(csv.headers.first(name: "content-type")?.hasPrefix("text/csv") == true)
                let lines = csv.text.split(separator: "\r\n")
                #expect(lines.first.map(String.init) == kind.csvHeader)
                #expect(lines.count == total + 1)
                let graded = try json(try await session.get("/api/v1/scans/\(scan)/findings?severity=\(grades[0])&limit=1000"))
                #expect((graded["findings"] as? [Any])?.count == expected[grades[0]])
            }
            let nodeFindings = try json(try await session.get("/api/v1/nodes/\(node)/findings?kind=secret&limit=1000"))
            #expect((nodeFindings["findings"] as? [Any])?.count == total)
            let counts = try json(try await session.get("/api/v1/nodes/\(node)/findings/counts"))
            let latest = counts["latest"] as? [String: [String: Any]]
            #expect(Set(latest?.keys.map { $0 } ?? []) == ["vulnerability", "secret", "malware", "compliance"])
            #expect(latest?["vulnerability"]?["scan_id"] as? String == scans[.vulnerability])
            #expect((latest?["malware"]?["counts"] as? [String: Int])?["critical"] == total / 5)
            let listed = try json(try await session.get("/api/v1/scans?node=\(node)&status=COMPLETE"))
            #expect((listed["scans"] as? [[String: Any]])?.count == 4)
            #expect((try json(try await session.get("/api/v1/scans?kind=cloud_compliance"))["scans"] as? [Any])?.count == 1)

            // Cloud resources: the account's inventory, a resent resource replaced, not added.
            let resources = (0..<30).map {
                schemas.record("IngestersCloudResource", seed: $0, overrides: ["account_id": JSONText.quoted(account), "arn": JSONText.quoted("arn:aws:::r\($0)")])
            }
            #expect(try await session.post("cloud-resources", resources).status == .ok)
            let renamed = schemas.record("IngestersCloudResource", seed: 0, overrides: [
                "account_id": JSONText.quoted(account), "arn": JSONText.quoted("arn:aws:::r0"), "name": #""renamed""#])
            #expect(try await session.post("cloud-resources", [renamed]).status == .ok)
            #expect(try await console.database.count("SELECT count(*) FROM cloud_resources WHERE node_id = '\(account)'") == 30)
            #expect(try await console.database.scalar("SELECT body->>'name' FROM cloud_resources WHERE resource_key = 'arn:aws:::r0'") == "renamed")
            await session.connection.close()
        }
    }

    @Test func aStuckScanIsFailedOnTheFakeClockAndNoLongerBlocksTheNextOne() async throws {
        try await TestConsole.with("stuckscan") { configuration in
            configuration.worker.scanStallTimeout = .seconds(600)
        } _: { console in
            var session = try await Session.open(console)
            try await session.report("stuck-host")
            // The start-scan action through the commands route makes its scan too.
            let queued = try await session.connection.postJSON(
                "/api/v1/nodes/stuck-host/commands", #"{"action":"StartSecretScan","request_payload":{"node_type":2,"bin_args":{"extra":"1"}}}"#,
                token: session.admin)
            #expect(queued.status == .created, "\(queued.text)")
            let scan = try #require(try json(queued)["scan_id"] as? String)
            #expect(try await session.queue(.secret, on: "stuck-host").status == .conflict)
            // Queued and not delivered: no stall counts while it waits for its node.
            console.clock.advance(by: .seconds(3600))
            try await console.stack.worker.failStalledScans()
            #expect(try await console.database.scalar("SELECT status FROM scans WHERE scan_id = '\(scan)'") == "QUEUED")
            try await session.relogin()
            let poll = try json(try await session.connection.postJSON(
                "/deepfence/controls/agent", #"{"node_id":"stuck-host","available_workload":1}"#, token: session.sensor))
            let payload = try #require((poll["commands"] as? [[String: Any]])?.first?["request_payload"] as? String)
            let binArgs = try #require((try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])?["bin_args"] as? [String: Any])
            #expect(binArgs["scan_id"] as? String == scan && binArgs["extra"] as? String == "1")
            #expect(try await console.database.scalar("SELECT status FROM scans WHERE scan_id = '\(scan)'") == "STARTING")
            // Progress, then silence past the stall timeout.
            console.clock.advance(by: .seconds(300))
            #expect(try await session.post("secret-scan-logs", [#"{"scan_id":"\#(scan)","scan_status":"IN_PROGRESS","scan_message":""}"#]).status == .ok)
            console.clock.advance(by: .seconds(599))
            try await console.stack.worker.failStalledScans()
            #expect(try await console.database.scalar("SELECT status FROM scans WHERE scan_id = '\(scan)'") == "IN_PROGRESS")
            console.clock.advance(by: .seconds(2))
            try await console.stack.worker.failStalledScans()
            let failed = try json(try await session.get("/api/v1/scans/\(scan)"))
            #expect(failed["status"] as? String == "ERROR")
            #expect((failed["message"] as? String)?.contains("--scan-stall-timeout") == true)
            // The node's next secret scan can be queued now.
            try await session.relogin()
            #expect(try await session.queue(.secret, on: "stuck-host").status == .created)
            await session.connection.close()
        }
    }

    @Test func aNodeRunsNoMoreScansThanItsAvailableWorkloadAcrossARestart() async throws {
        func poll(_ session: Session, _ workload: Int) async throws -> [String] {
            let answer = try json(try await session.connection.postJSON(
                "/deepfence/controls/agent", #"{"node_id":"busy-host","available_workload":\#(workload)}"#, token: session.sensor))
            return (answer["commands"] as? [[String: Any]] ?? []).compactMap { command in
                (command["request_payload"] as? String).flatMap(ScanID.named(inPayload:))
            }
        }
        func status(_ console: TestConsole, _ scan: String) async throws -> String? {
            try await console.database.scalar("SELECT status FROM scans WHERE scan_id = '\(scan)'")
        }
        let first = try await TestConsole.start("workload")
        let scans: (String, String)
        do {
            let session = try await Session.open(first)
            try await session.report("busy-host")
            scans.0 = try #require(try json(try await session.queue(.secret, on: "busy-host"))["scan_id"] as? String)
            scans.1 = try #require(try json(try await session.queue(.malware, on: "busy-host"))["scan_id"] as? String)
            #expect(try await poll(session, 1) == [scans.0])
            // The sensor polls again before it started the first scan and still offers its slot.
            #expect(try await poll(session, 1) == [])
            #expect(try await status(first, scans.1) == "QUEUED")
            await session.connection.close()
        } catch {
            await first.stop()
            throw error
        }
        await first.stop(dropDatabase: false)

        // A new run of the worker claims the shard and loads the scan that holds the slot.
        let second = try await TestConsole.start("workload", database: first.database)
        do {
            let session = try await Session.open(second)
            #expect(try await poll(session, 1) == [])
            // The sensor started the first scan (its own count now holds it) and says so.
            let started = #"{"scan_id":"\#(scans.0)","scan_status":"IN_PROGRESS","scan_message":""}"#
            #expect(try await session.post("secret-scan-logs", [started]).status == .ok)
            #expect(try await poll(session, 0) == [])
            #expect(try await status(second, scans.1) == "QUEUED")
            #expect(try await poll(session, 1) == [scans.1])
            #expect(try await status(second, scans.1) == "STARTING")
            await session.connection.close()
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }

    @Test func scansAndTheirFindingsGoAfterTheRetention() async throws {
        try await TestConsole.with("findretention") { configuration in
            configuration.worker.scanRetention = .seconds(30 * 86_400)
        } _: { console in
            let session = try await Session.open(console)
            let scan = ScanID.make(nodeID: "old-host", at: console.clock.now())
            let records = (0..<10).map { #"{"scan_id":"\#(scan)","cve_id":"CVE-\#($0)","cve_caused_by_package":"p"}"# }
            #expect(try await session.post("vulnerabilities", records).status == .ok)
            let day = PartitionDay(Date(timeIntervalSince1970: Double(console.clock.now().milliseconds) / 1000)).name
            let partition = "vulnerability_findings_\(day)"
            #expect(try await console.database.count("SELECT count(*) FROM pg_class WHERE relname = '\(partition)'") == 1)
            // 29 days on: kept.
            console.clock.advance(by: .seconds(29 * 86_400))
            try await console.stack.worker.maintainPartitions()
            #expect(try await console.database.count("SELECT count(*) FROM vulnerability_findings") == 10)
            // Past 30 days: the scan and its day's findings are gone, partition and all.
            console.clock.advance(by: .seconds(2 * 86_400))
            try await console.stack.worker.maintainPartitions()
            #expect(try await console.database.count("SELECT count(*) FROM scans") == 0)
            #expect(try await console.database.count("SELECT count(*) FROM pg_class WHERE relname = '\(partition)'") == 0)
            #expect(try await console.database.count("SELECT count(*) FROM vulnerability_findings") == 0)
            await session.connection.close()
        }
    }

    @Test func aRequestSpanningNodesIsSplitAndAPartialFailureIsResentWithoutDuplicates() async throws {
        let failing = FailingFindingsOwner.Switch(node: "split-b")
        try await TestConsole.with("findsplit") { configuration in
            configuration.ownerWrapper = { FailingFindingsOwner(wrapping: $0, failing: failing) }
        } _: { console in
            let session = try await Session.open(console)
            let (a, b) = (ScanID.make(nodeID: "split-a", at: console.clock.now()), ScanID.make(nodeID: "split-b", at: console.clock.now()))
            let records = (0..<40).map { #"{"scan_id":"\#($0 % 2 == 0 ? a : b)","rule_name":"r\#($0)","complete_filename":"/f","file_severity":"high"}"# }
            let partial = try await session.post("malware", records)
            #expect(partial.status == .serviceUnavailable)
            #expect(try json(partial)["code"] as? String == "partially_stored")
            #expect(try await console.database.count("SELECT count(*) FROM malware_findings") == 20)
            // The resend stores the other node's half, and nothing twice.
            let resent = try await session.post("malware", records)
            #expect(resent.status == .ok, "\(resent.text)")
            #expect(try json(resent)["nodes"] as? Int == 2)
            #expect(try await console.database.rows("SELECT node_id, count(*)::text FROM malware_findings GROUP BY 1 ORDER BY 1") == [["split-a", "20"], ["split-b", "20"]])
            #expect(try await console.database.rows("SELECT node_id, findings::text FROM scans ORDER BY 1") == [["split-a", "20"], ["split-b", "20"]])
            await session.connection.close()
        }
    }

    @Test func badRecordsGetClearErrorsAndStoreNothing() async throws {
        try await TestConsole.with("findbad", configure: { _ in }) { console in
            let session = try await Session.open(console)
            let scan = ScanID.make(nodeID: "bad-host", at: console.clock.now())
            let good = #"{"scan_id":"\#(scan)","cve_id":"CVE-1","cve_caused_by_package":"p"}"#
            let cases: [(String, String, HTTPResponseStatus, String)] = [
                ("vulnerabilities", "[\(good),{\"cve_id\":\"CVE-2\"}]", .badRequest, "record 1: scan_id"),
                ("vulnerabilities", "[\(good),{\"scan_id\":\"\(scan)\"}]", .badRequest, "record 1: cve_id"),
                ("secret-scan-logs", #"[{"scan_id":"\#(scan)","scan_status":"MAYBE"}]"#, .badRequest, "scan_status"),
                ("vulnerabilities", "{\"x\":1}", .badRequest, "JSON array"),
                ("vulnerabilities", "[\(good)", .badRequest, ""),
                ("no-such-route", "[]", .notFound, ""),
            ]
            for (route, body, status, message) in cases {
                let response = try await session.connection.postJSON("/deepfence/ingest/\(route)", body, token: session.sensor)
                #expect(response.status == status, "\(route) \(body): \(response.text)")
                #expect(message.isEmpty || response.text.contains(message), "\(response.text)")
            }
            #expect(try await session.connection.postJSON("/deepfence/ingest/vulnerabilities", "[\(good)]", token: nil).status == .unauthorized)
            #expect(try await console.database.count("SELECT count(*) FROM vulnerability_findings") == 0)
            #expect(try await console.database.count("SELECT count(*) FROM scans") == 0)
            // Gzipped bodies are taken as reports are.
            let gzipped = try await session.connection.request(
                .POST, "/deepfence/ingest/vulnerabilities",
                headers: ["authorization": "Bearer \(session.sensor)", "content-encoding": "gzip", "content-type": "application/json"],
                body: .init(bytes: Gzip.compress(Array("[\(good)]".utf8))))
            #expect(gzipped.status == .ok)
            #expect(try await console.database.count("SELECT count(*) FROM vulnerability_findings") == 1)
            // Records naming a scan of another kind are refused, with the rest of their request.
            let other = ScanID.make(nodeID: "bad-host", at: console.clock.now().advanced(by: .seconds(1)))
            let mixed = try await session.post("secrets", [
                #"{"scan_id":"\#(other)","Rule":{"id":1},"Severity":{"level":"high"}}"#,
                #"{"scan_id":"\#(scan)","Rule":{"id":2},"Severity":{"level":"high"}}"#,
            ])
            #expect(mixed.status == .badRequest)
            #expect(mixed.text.contains("is a vulnerability scan"), "\(mixed.text)")
            #expect(try await console.database.count("SELECT count(*) FROM secret_findings") == 0)
            #expect(try await console.database.count("SELECT count(*) FROM scans") == 1)
            // A file name from a scanned host that a spreadsheet would run as a formula is
            // exported inert; commas and quotes are quoted.
            let hostile = #"[{"scan_id":"\#(other)","rule_name":"r1","complete_filename":"=HYPERLINK(\"http://x\")","summary":"a,b"}]"#
            let posted = try await session.post("malware", [String(hostile.dropFirst().dropLast())])
            #expect(posted.status == .ok, "\(posted.text)")
            let exported = try await session.get("/api/v1/nodes/bad-host/findings?kind=malware&format=csv").text
            #expect(exported.contains(#""'=HYPERLINK(""http://x"")""#), "\(exported)")
            #expect(exported.contains(#","a,b""#) && !exported.contains(",a,b"), "\(exported)")
            await session.connection.close()
        }
    }
}

/// Wraps a worker as the gateway sees it and fails one node's findings once (as a worker that
/// went away mid-request would), so a request spanning nodes commits only in part.
final class FailingFindingsOwner: ShardOwner {
    final class Switch: Sendable {
        let node: String
        let failed = Mutex(false)
        init(node: String) { self.node = node }
    }

    let wrapped: any ShardOwner
    let failing: Switch

    init(wrapping wrapped: any ShardOwner, failing: Switch) {
        self.wrapped = wrapped
        self.failing = failing
    }

    func submitFindings(_ part: FindingsPart, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void) {
        let fail = part.nodeID == failing.node && failing.failed.withLock { failed in
            defer { failed = true }
            return !failed
        }
        if fail { return completion(.failure(.overloaded)) }
        wrapped.submitFindings(part, shard: shard, epoch: epoch, completion: completion)
    }

    func submit(_ report: ParsedReport, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void) {
        wrapped.submit(report, shard: shard, epoch: epoch, completion: completion)
    }

    func controls(_ request: ControlsRequest, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<AgentControls, IngestError>) -> Void) {
        wrapped.controls(request, shard: shard, epoch: epoch, completion: completion)
    }

    func queueCommand(nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String) async throws -> AgentCommand {
        try await wrapped.queueCommand(nodeID: nodeID, shard: shard, epoch: epoch, actionID: actionID, requestPayload: requestPayload)
    }

    func queueScan(
        _ scanID: String, kind: FindingKind, nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String
    ) async throws -> AgentCommand {
        try await wrapped.queueScan(scanID, kind: kind, nodeID: nodeID, shard: shard, epoch: epoch, actionID: actionID, requestPayload: requestPayload)
    }
}

/// SBOM uploads in process: stored in parts, read back whole; refused without a token, with a
/// body that is not the base64 of gzip, or over the limit; no upload file left behind.
@Suite(.timeLimit(.minutes(3)))
struct SBOMTests {
    /// A CycloneDX-like SBOM of `components` packages.
    static func sbom(components: Int) -> [UInt8] {
        let list = (0..<components).map { #"{"type":"library","name":"pkg-\#($0)","version":"1.\#($0 % 97).\#($0 % 13)","purl":"pkg:deb/debian/pkg-\#($0)@1.\#($0)"}"# }
        return Array((#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["# + list.joined(separator: ",") + "]}").utf8)
    }

    @Test(arguments: [HTTPServer.HTTP2Mode.frames, .multiplexed])
    func anUploadIsStoredInPartsAndReadBackWhole(mode: HTTPServer.HTTP2Mode) async throws {
        let uploads = "/tmp/sbom-test-uploads-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: uploads) }
        try await TestConsole.with("sbom") { configuration in
            configuration.listener.http2Mode = mode
            configuration.gateway.uploadDirectory = uploads
            configuration.gateway.maxSBOMBytes = 8 << 20
        } _: { console in
            let session = try await FindingsTests.Session.open(console)
            // Gzip at level 0 (stored blocks): 2.5 MiB of SBOM make three parts.
            let gzipped = Gzip.compress(Self.sbom(components: 25_000), level: 0)
            #expect(gzipped.count > 2 << 20 && gzipped.count < 3 << 20)
            let scan = ScanID.make(nodeID: "sbom-host", at: console.clock.now())
            let body = #"{"scan_id":"\#(scan)","node_id":"sbom-host","image_name":"nginx:1.25","scan_type":"base,java","skip_scan":false,"sbom":"\#(Data(gzipped).base64EncodedString())"}"#
            let stored = try await session.connection.postJSON("/deepfence/ingest/sbom", body, token: session.sensor)
            #expect(stored.status == .ok, "\(stored.text)")
            #expect(try json(stored)["bytes"] as? Int == gzipped.count)
            let row = try json(try await session.get("/api/v1/scans/\(scan)/sbom"))
            #expect(row["parts"] as? Int == 3)
            #expect(row["inflated_bytes"] as? Int == Self.sbom(components: 25_000).count)
            #expect((row["fields"] as? [String: Any])?["image_name"] as? String == "nginx:1.25")
            var whole: [UInt8] = []
            for part in 0..<3 {
                let response = try await session.get("/api/v1/scans/\(scan)/sbom/parts/\(part)")
                #expect(response.status == .ok)
                whole += Array(response.body.readableBytesView)
            }
            // (Compared as one Bool: a failed == of two megabyte arrays makes the test library diff them.)
            let same = whole == gzipped
            #expect(same, "the parts (\(whole.count) bytes) are not the upload (\(gzipped.count) bytes)")
            #expect(try await session.get("/api/v1/scans/\(scan)/sbom/parts/3").status == .notFound)
            // A part number beyond the database's int4 is a bad request (it once crashed the console).
            #expect(try await session.get("/api/v1/scans/\(scan)/sbom/parts/\(Int64(Int32.max) + 1)").status == .badRequest)
            // So is a NUL in the path or the query: no ID holds one, and the database takes none.
            #expect(try await session.get("/api/v1/scans/\(scan)%00/sbom").status == .badRequest)
            #expect(try await session.get("/api/v1/scans?node=a%00b").status == .badRequest)
            // The operator API's OpenAPI document.
            let document = try json(try await session.get("/api/v1/openapi.json"))
            #expect(document["openapi"] as? String == "3.1.0")
            #expect((document["paths"] as? [String: Any])?["/api/v1/scans/{id}/sbom/parts/{n}"] != nil)
            // The upload made its vulnerability scan.
            #expect(try await console.database.scalar("SELECT kind FROM scans WHERE scan_id = '\(scan)'") == "vulnerability")

            // Refused: no token (from the head, before the body is taken), a body that is not
            // base64 of gzip, an encoded upload, and one over the limit.
            #expect(try await session.connection.postJSON("/deepfence/ingest/sbom", body, token: nil).status == .unauthorized)
            let notGzip = #"{"scan_id":"\#(scan)","sbom":"\#(Data("plain text".utf8).base64EncodedString())"}"#
            let refused = try await session.connection.postJSON("/deepfence/ingest/sbom", notGzip, token: session.sensor)
            #expect(refused.status == .badRequest && refused.text.contains("gzip"), "\(refused.text)")
            let encoded = try await session.connection.request(
                .POST, "/deepfence/ingest/sbom", headers: ["authorization": "Bearer \(session.sensor)", "content-encoding": "gzip"],
                body: .init(bytes: Gzip.compress(Array(body.utf8))))
            #expect(encoded.status == .unsupportedMediaType)
            let huge = #"{"scan_id":"\#(scan)","sbom":""# + String(repeating: "QUJD", count: 3 << 20) + #""}"#
            let tooLarge = try await session.connection.postJSON("/deepfence/ingest/sbom", huge, token: session.sensor)
            #expect(tooLarge.status == .payloadTooLarge && tooLarge.text.contains("--max-sbom-bytes"))
            // The first upload still stands, and nothing is left in the upload directory.
            #expect(try json(try await session.get("/api/v1/scans/\(scan)/sbom"))["sha256"] as? String == row["sha256"] as? String)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try FileManager.default.contentsOfDirectory(atPath: uploads).isEmpty)
            await session.connection.close()
        }
    }
}
