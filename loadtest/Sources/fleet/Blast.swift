import ArgumentParser
import Foundation
import IngestCompression
import IngestTransport
import LoadTestCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `fleet blast`: pushes reports through the full ingest path as fast as a closed loop of
/// connections × streams allows, and reports throughput and latency percentiles.
struct Blast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push reports through the full ingest path as fast as possible (a throughput benchmark).",
        discussion: """
            Every request is a distinct report (its own report ID), so none is short-cut as a \
            resend: --mode new sends each report from a host never seen (everything appears; \
            --hosts is ignored), --mode \
            unchanged sends new beats of hosts the console already holds (new IDs, timestamps \
            and metrics, the same entities), --mode changed alters one process per beat. Bodies \
            are generated and gzipped before the clock starts.
            """)

    @OptionGroup var target: TargetOptions
    @Option(help: "A report JSON to use as the template; the string agent-sed-string is replaced by each host's name.")
    var template: String
    @Option(help: "Connections.") var connections = 50
    @Option(help: "Requests in flight per connection (HTTP/2 streams).") var streams = 4
    @Option(help: "Reports to send.") var reports = 10_000
    @Option(help: "Distinct hosts the reports come from.") var hosts = 1000
    @Option(help: "new, unchanged or changed.") var mode = "unchanged"
    @Option(help: "gzip level of the bodies.") var gzipLevel: Int32 = 6
    @Option(help: "Name hosts blast-<run-id>-<n> (default: random), to send more beats to the hosts of an earlier run.")
    var runID: String?
    @Flag(inversion: .prefixedNo, help: "Before the timed phase, send each host a first report (unchanged and changed modes).")
    var seed = true
    @Option(help: "The beat number of the first timed report (raise it when reusing an earlier run's hosts).")
    var firstBeat = 1
    @Option(help: "An admin API key: read the console's write counters before and after the timed phase and print rows written per report (default: $CONSOLE_ADMIN_KEY).")
    var adminKey: String?

    func run() async throws {
        guard ["new", "unchanged", "changed"].contains(mode) else { throw ValidationError("--mode must be new, unchanged or changed") }
        let template = try String(contentsOfFile: self.template, encoding: .utf8)
        let session = try await target.session()
        let token = try await session.login()
        let runID = self.runID ?? String(UInt32.random(in: 0...UInt32.max), radix: 36)

        if mode != "new" && seed {
            // Seed every host with a first report, so the timed beats find them stored.
            FileHandle.standardError.write(Data("seeding \(hosts) hosts…\n".utf8))
            let seeds = (0..<hosts).map { host in
                Self.body(template, host: "blast-\(runID)-\(host)", beat: 0, mode: "new", level: gzipLevel)
            }
            _ = try await Self.drive(seeds, session: session, token: token, connections: connections, streams: streams)
        }
        FileHandle.standardError.write(Data("generating \(reports) reports…\n".utf8))
        let bodies = (0..<reports).map { index in
            mode == "new"
                ? Self.body(template, host: "blast-\(runID)-new-\(index)", beat: 0, mode: mode, level: gzipLevel)
                : Self.body(template, host: "blast-\(runID)-\(index % hosts)", beat: firstBeat + index / hosts, mode: mode, level: gzipLevel)
        }
        let bytes = bodies.reduce(0) { $0 + $1.readableBytes }
        var admin: String?
        var before: [String: Int]?
        if let adminKey = Keys.admin(adminKey) {
            admin = try await TargetSession(copying: session, key: adminKey).login()
            before = try await Self.workerCounters(session: session, token: admin!)
        }
        FileHandle.standardError.write(Data("sending \(reports) reports (\(bytes / reports) bytes each, gzipped)…\n".utf8))
        let result = try await Self.drive(bodies, session: session, token: token, connections: connections, streams: streams)
        let latency = result.latency
        print(String(format: "reports: %d in %.2f s = %.0f reports/s; statuses %@", reports, result.seconds,
                     Double(reports) / result.seconds, result.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")))
        print("latency µs: p50 \(latency.p50)  p90 \(latency.p90)  p99 \(latency.p99)  p99.9 \(latency.p999)  max \(latency.max)")
        if let admin, let before {
            let after = try await Self.workerCounters(session: session, token: admin)
            let committed = (after["reports_committed"] ?? 0) - (before["reports_committed"] ?? 0)
            let rows = (after["entity_rows_written"] ?? 0) - (before["entity_rows_written"] ?? 0)
            let changes = (after["change_rows_written"] ?? 0) - (before["change_rows_written"] ?? 0)
            print(String(format: "console: %d reports committed, %d entity rows written (%.3f per report), %d change-log rows",
                         committed, rows, committed > 0 ? Double(rows) / Double(committed) : 0, changes))
        }
    }

    /// The summed counters of the console's workers (`GET /api/v1/cluster`).
    static func workerCounters(session: TargetSession, token: String) async throws -> [String: Int] {
        let connection = try await session.connect()
        defer { Task { await connection.close() } }
        let response = try await connection.request(.GET, "/api/v1/cluster", headers: ["authorization": "Bearer \(token)"])
        guard response.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any],
            let workers = object["workers"] as? [[String: Any]]
        else { throw ValidationError("could not read /api/v1/cluster: \(response.status)") }
        var totals: [String: Int] = [:]
        for worker in workers {
            for (name, value) in worker { if let number = value as? Int { totals[name, default: 0] += number } }
        }
        return totals
    }

    /// A report body: the template for `host`, with a unique report ID and, for beats after the
    /// first, new timestamps and metrics (and, in `changed` mode, one changed process).
    static func body(_ template: String, host: String, beat: Int, mode: String, level: Int32) -> ByteBuffer {
        var text = template.replacingOccurrences(of: "agent-sed-string", with: host)
        text = text.replacingOccurrences(of: "\"ID\": \"3594424253868088119\"", with: "\"ID\": \"\(host)-\(beat)\"")
        if beat > 0 {
            text = text.replacingOccurrences(of: "2023-05-05T14:1", with: "2023-05-05T1\(beat % 10):\(beat % 6)")
            text = text.replacingOccurrences(of: "\"memory_usage\": 499712", with: "\"memory_usage\": \(499_712 + beat)")
        }
        if mode == "changed" {
            text = text.replacingOccurrences(of: "-s lighttpd \"", with: "-s lighttpd --beat \(beat)\"")
        }
        return ByteBuffer(bytes: Gzip.compress(Array(text.utf8), level: level))
    }

    struct Outcome {
        var seconds: Double
        var statuses: [Int: Int]
        var latency: LatencySummary
    }

    /// Sends every body once over `connections` × `streams` closed loops.
    static func drive(
        _ bodies: [ByteBuffer], session: TargetSession, token: String, connections: Int, streams: Int
    ) async throws -> Outcome {
        final class Shared: Sendable {
            let next = Atomic<Int>(0)
            let statuses = Mutex<[Int: Int]>([:])
        }
        let shared = Shared()
        let recorder = LatencyRecorder()
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                let connection = try await session.connect()
                for _ in 0..<streams {
                    group.addTask {
                        while true {
                            let index = shared.next.wrappingAdd(1, ordering: .relaxed).oldValue
                            guard index < bodies.count else { return }
                            let sent = clock.now
                            let response = try await connection.request(
                                .POST, "/deepfence/ingest/report",
                                headers: ["authorization": "Bearer \(token)", "content-encoding": "gzip"], body: bodies[index])
                            recorder.record("report", clock.now - sent)
                            shared.statuses.withLock { $0[Int(response.status.code), default: 0] += 1 }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        return Outcome(
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            statuses: shared.statuses.withLock { $0 }, latency: recorder.summary("report")!)
    }
}
