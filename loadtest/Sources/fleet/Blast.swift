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
            resend: --mode new sends each host's first report (everything appears), --mode \
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

    func run() async throws {
        guard ["new", "unchanged", "changed"].contains(mode) else { throw ValidationError("--mode must be new, unchanged or changed") }
        let template = try String(contentsOfFile: self.template, encoding: .utf8)
        let session = try await target.session()
        let token = try await session.login()
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)

        if mode != "new" {
            // Seed every host with a first report, so the timed beats find them stored.
            FileHandle.standardError.write(Data("seeding \(hosts) hosts…\n".utf8))
            let seeds = (0..<hosts).map { host in
                Self.body(template, host: "blast-\(runID)-\(host)", beat: 0, mode: "new", level: gzipLevel)
            }
            _ = try await Self.drive(seeds, session: session, token: token, connections: connections, streams: streams)
        }
        FileHandle.standardError.write(Data("generating \(reports) reports…\n".utf8))
        let bodies = (0..<reports).map { index in
            Self.body(template, host: "blast-\(runID)-\(index % hosts)", beat: 1 + index / hosts, mode: mode, level: gzipLevel)
        }
        let bytes = bodies.reduce(0) { $0 + $1.readableBytes }
        FileHandle.standardError.write(Data("sending \(reports) reports (\(bytes / reports) bytes each, gzipped)…\n".utf8))
        let result = try await Self.drive(bodies, session: session, token: token, connections: connections, streams: streams)
        let latency = result.latency
        print(String(format: "reports: %d in %.2f s = %.0f reports/s; statuses %@", reports, result.seconds,
                     Double(reports) / result.seconds, result.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")))
        print("latency µs: p50 \(latency.p50)  p90 \(latency.p90)  p99 \(latency.p99)  p99.9 \(latency.p999)  max \(latency.max)")
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
