import Foundation
import IngestCore
import IngestTestSupport
import IngestTransport
import NIOCore
import Testing

/// Findings exports: every finding of a scan or node in one streamed answer, many database
/// pages long, over real TLS with HTTP/2 (both server modes) and HTTP/1.1 (chunked); a reader that
/// stops reading is cut off within the request timeout instead of holding the export open.
@Suite(.timeLimit(.minutes(3)))
struct FindingsExportTests {
    /// `count` vulnerability findings of `scan`, each `padding` bytes of description long.
    static func findings(scan: String, count: Int, padding: Int = 0) -> [String] {
        let description = String(repeating: "x", count: padding)
        return (0..<count).map {
            #"{"scan_id":"\#(scan)","cve_id":"CVE-2026-\#($0)","cve_caused_by_package":"pkg-\#($0 % 7)","cve_severity":"\#(["critical", "high", "low"][$0 % 3])","cve_description":"\#(description)"}"#
        }
    }

    /// Posts `records` in requests of `batch` (upstream shippers send at most 100).
    static func post(_ records: [String], _ session: FindingsTests.Session, batch: Int = 100) async throws {
        for start in stride(from: 0, to: records.count, by: batch) {
            let response = try await session.post("vulnerabilities", Array(records[start..<min(start + batch, records.count)]))
            #expect(response.status == .ok, "\(response.text)")
        }
    }

    @Test(arguments: [HTTPServer.HTTP2Mode.frames, .multiplexed])
    func anExportStreamsEveryFindingAcrossManyPages(mode: HTTPServer.HTTP2Mode) async throws {
        try await TestConsole.with("findexport") { configuration in
            configuration.listener.http2Mode = mode
            configuration.gateway.maxPageSize = 100
        } _: { console in
            let session = try await FindingsTests.Session.open(console)
            let node = "export-host"
            let scan = ScanID.make(nodeID: node, at: console.clock.now())
            let total = 1_050
            try await Self.post(Self.findings(scan: scan, count: total), session)

            // JSON over HTTP/2: eleven database pages in one answer, every finding once.
            let exported = try await session.get("/api/v1/scans/\(scan)/findings/export")
            #expect(exported.status == .ok)
            #expect(exported.headers.first(name: "content-length") == nil, "a streamed answer has no length")
            #expect(exported.headers.first(name: "content-disposition")?.contains("vulnerability-findings.json") == true)
            let object = try json(exported)
            let items = object["findings"] as? [[String: Any]] ?? []
            #expect(object["count"] as? Int == total)
            #expect(Set(items.compactMap { $0["key"] as? String }).count == total)
            #expect(items.allSatisfy { ($0["finding"] as? [String: Any])?["scan_id"] as? String == scan })

            // A node's export spans its scans, pages crossing from one scan to the next, in
            // (scan, key) byte order.
            let second = ScanID.make(nodeID: node, at: console.clock.now().advanced(by: .seconds(1)))
            try await Self.post(Self.findings(scan: second, count: 130), session)
            let nodeExport = try json(try await session.get("/api/v1/nodes/\(node)/findings/export?kind=vulnerability"))
            let nodeItems = (nodeExport["findings"] as? [[String: Any]] ?? []).map { ($0["scan_id"] as? String ?? "", $0["key"] as? String ?? "") }
            #expect(nodeExport["count"] as? Int == total + 130 && nodeItems.count == total + 130)
            #expect(Set(nodeItems.map { "\($0.0) \($0.1)" }).count == total + 130)
            let inOrder = zip(nodeItems, nodeItems.dropFirst()).allSatisfy { a, b in
                Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
                    || (a.0 == b.0 && Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8)))
            }
            #expect(inOrder, "a node's findings in (scan, key) byte order")

            // CSV over HTTP/1.1, chunked, of a node's findings with a severity filter.
            let http1 = try await console.connect(http2: false)
            #expect(!http1.isHTTP2)
            let csv = try await http1.get("/api/v1/nodes/\(node)/findings/export?kind=vulnerability&format=csv&severity=critical", token: session.admin)
            #expect(csv.status == .ok)
            #expect(csv.headers.first(name: "transfer-encoding") == "chunked")
            let lines = csv.text.split(separator: "\r\n")
            #expect(lines.first.map(String.init) == FindingKind.vulnerability.csvHeader)
            let critical = (0..<total).filter { $0 % 3 == 0 }.count + (0..<130).filter { $0 % 3 == 0 }.count
            #expect(lines.count == critical + 1)
            #expect(lines.dropFirst().allSatisfy { $0.contains(",critical,") })
            // The connection carries on after a streamed answer.
            #expect(try await http1.get("/api/v1/scans/\(scan)", token: session.admin).status == .ok)

            // An export resumed after a cursor holds the rest; errors come before the first byte.
            let page = try json(try await session.get("/api/v1/scans/\(scan)/findings?limit=100"))
            let cursor = try #require(page["next"] as? String)
            #expect(try json(try await session.get("/api/v1/scans/\(scan)/findings/export?after=\(cursor)"))["count"] as? Int == total - 100)
            #expect(try await session.get("/api/v1/scans/\(scan)/findings/export?limit=10").status == .badRequest)
            #expect(try await session.get("/api/v1/nodes/\(node)/findings/export").status == .badRequest)
            #expect(try await session.get("/api/v1/scans/\(ScanID.make(nodeID: "nobody", at: console.clock.now()))/findings/export").status == .notFound)
            #expect(try await session.connection.get("/api/v1/scans/\(scan)/findings/export", token: session.sensor).status == .forbidden)
            #expect(console.stack.server.activity.requestsInFlight == 0)
            await http1.close()
            await session.connection.close()
        }
    }

    @Test(arguments: [false, true])
    func aReaderThatStopsReadingIsCutOff(http2: Bool) async throws {
        try await TestConsole.with("findstall") { configuration in
            configuration.gateway.maxPageSize = 100
            configuration.listener.limits.requestTimeout = .seconds(1)
        } _: { console in
            let session = try await FindingsTests.Session.open(console)
            let scan = ScanID.make(nodeID: "stall-host", at: console.clock.now())
            // About 30 MB of export: more than the loopback socket buffers hold.
            // In requests of about 200 KB: each arrives well within the 1 s request timeout.
            try await Self.post(Self.findings(scan: scan, count: 3_000, padding: 10_000), session, batch: 20)

            let reader = try await console.connect(http2: http2)
            // One answer read first: the TLS handshake is done before the reader stops reading.
            #expect(try await reader.get("/api/v1/scans/\(scan)", token: session.admin).status == .ok)
            try await reader.channel.setOption(ChannelOptions.autoRead, value: false).get()
            let export = Task { try await reader.get("/api/v1/scans/\(scan)/findings/export", token: session.admin) }
            var started = false
            for _ in 0..<100 where !started {
                try await Task.sleep(for: .milliseconds(50))
                started = console.stack.server.activity.requestsInFlight > 0
            }
            #expect(started, "the export began")
            // The reader reads nothing: within a few request timeouts the console has let go of it.
            var released = false
            for _ in 0..<100 where !released {
                try await Task.sleep(for: .milliseconds(100))
                released = console.stack.server.activity.requestsInFlight == 0
            }
            #expect(released, "the stalled export still holds the console")
            await reader.close()
            if case .success(let response) = await export.result {
                #expect(response.status != .ok || (try? json(response)) == nil, "a cut export never reads as whole")
            }
            // The console serves other clients meanwhile and after.
            #expect(try await session.get("/api/v1/scans/\(scan)").status == .ok)
            await session.connection.close()
        }
    }
}
