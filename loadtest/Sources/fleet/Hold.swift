import ArgumentParser
import Foundation
import IngestTransport
import LoadTestCore
import LoadTestRunner
import NIOCore

/// `fleet hold`: opens idle sensor connections and reports what each costs the console's
/// resident memory.
struct Hold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open idle sensor connections and measure the console's memory per connection.",
        discussion: """
            Each connection does what a sensor's connection has done between two beats: TLS, \
            HTTP/2 (or HTTP/1.1 with --http1), a small request (/deepfence/ping) and a body the \
            size of a gzipped report (--body-bytes, posted to /deepfence/ingest/report as a \
            report that is not gzip, so it is read whole and refused with 400 without touching \
            any node's state); then it sits idle. The console's RSS (--watch-pid) is read before the first connection, \
            once every connection is open, and after --hold (the console trims its allocator \
            every 10 s, so hold at least that long); per connection is the difference over \
            --connections. Mind the console's --idle-timeout and --max-connections-per-address.
            """)

    @OptionGroup var target: TargetOptions
    @Option(help: "Connections to open.") var connections = 1000
    @Option(help: "Connections opened at once.") var concurrency = 50
    @Option(help: "How long to keep them open after the last one, e.g. 30s.") var hold = "30s"
    @Option(help: "The console's process ID.") var watchPID: Int32
    @Option(help: "Bytes of the report-sized body each connection sends (0: none).") var bodyBytes = 9_000

    func run() async throws {
        guard let holdSeconds = Scenario.seconds(hold) else { throw ValidationError("--hold: a duration such as 30s") }
        let session = try await target.session()
        let token = try await session.login()
        let body = ByteBuffer(bytes: (0..<bodyBytes).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let bodyBytes = self.bodyBytes
        let before = Self.rss(watchPID)
        let started = ContinuousClock.now
        var open: [HTTPClientConnection] = []
        open.reserveCapacity(connections)
        var failures = 0
        for start in stride(from: 0, to: connections, by: concurrency) {
            let batch = min(concurrency, connections - start)
            let opened = await withTaskGroup(of: HTTPClientConnection?.self) { group in
                for _ in 0..<batch {
                    group.addTask {
                        guard let connection = try? await session.connect() else { return nil }
                        guard let answer = try? await connection.request(.GET, "/deepfence/ping"), answer.status == .ok else {
                            await connection.close()
                            return nil
                        }
                        if bodyBytes > 0 {
                            let refused = try? await connection.request(
                                .POST, "/deepfence/ingest/report",
                                headers: ["authorization": "Bearer \(token)", "content-encoding": "gzip", "content-type": "application/octet-stream"],
                                body: body)
                            guard refused?.status == .badRequest else {
                                await connection.close()
                                return nil
                            }
                        }
                        return connection
                    }
                }
                var opened: [HTTPClientConnection] = []
                for await connection in group {
                    if let connection { opened.append(connection) }
                }
                return opened
            }
            failures += batch - opened.count
            open += opened
        }
        let openedIn = ContinuousClock.now - started
        try await Task.sleep(for: .seconds(1))
        let whenOpen = Self.rss(watchPID)
        try await Task.sleep(for: .seconds(holdSeconds))
        let held = open.filter { $0.channel.isActive }.count
        let afterHold = Self.rss(watchPID)
        let per = { (rss: Int) in Double(rss - before) / Double(max(open.count, 1)) / 1024 }
        print(String(format: "connections: %d open in %.1f s (%d failed), %d still open after %@", open.count,
                     Double(openedIn.components.seconds) + Double(openedIn.components.attoseconds) / 1e18, failures, held, hold))
        print(String(format: "console RSS: %.1f MiB before, %.1f MiB open (+%.1f KiB per connection), %.1f MiB after %@ (+%.1f KiB per connection)",
                     Double(before) / 1_048_576, Double(whenOpen) / 1_048_576, per(whenOpen), Double(afterHold) / 1_048_576, hold, per(afterHold)))
        for connection in open { await connection.close() }
    }

    /// The resident bytes of `pid` (0 if it cannot be read).
    static func rss(_ pid: Int32) -> Int { ProcessSampler().sample([pid])?.rssBytes ?? 0 }
}
