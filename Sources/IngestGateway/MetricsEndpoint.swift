import Foundation
import IngestCore
import IngestTransport
import NIOCore
import NIOHTTP1
import Prometheus

/// Serves `GET /metrics` in the Prometheus text format from a registry, and the health checks
/// `GET /healthz` (the process serves) and `GET /readyz` (the role is ready: a gateway holds a
/// shard map, a worker has loaded its shards, a coordinator reached the catalog), on its own
/// listener (`--metrics-address`, plain HTTP, meant for a loopback or cluster-internal address).
public final class MetricsEndpoint: HTTPResponder {
    let registry: PrometheusCollectorRegistry
    let readiness: @Sendable () -> (ready: Bool, detail: String)

    public init(registry: PrometheusCollectorRegistry, readiness: @escaping @Sendable () -> (ready: Bool, detail: String) = { (true, "ready") }) {
        self.registry = registry
        self.readiness = readiness
    }

    public func bodyLimit(uri: String) -> Int { 0 }

    /// This process's CPU time, resident memory, threads and open files (`process_*`, the
    /// names Prometheus's own clients use), read from `/proc/self` at each scrape.
    static func processMetrics() -> String {
        guard let line = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let stat = ProcessStat(statLine: line) else {
            return ""
        }
        // Less the descriptor the listing itself holds open.
        let openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map { max($0.count - 1, 0) }
        return stat.exposition(ticksPerSecond: sysconf(Int32(_SC_CLK_TCK)), pageSize: sysconf(Int32(_SC_PAGESIZE)), openFiles: openFiles)
    }

    public func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse {
        HTTPResponse(status: .payloadTooLarge)
    }

    public func handle(_ request: HTTPRequest, writer: ResponseWriter) {
        guard request.method == .GET || request.method == .HEAD else {
            var refusal = HTTPResponse.text(.methodNotAllowed, "GET only")
            refusal.headers.add(name: "allow", value: "GET, HEAD")
            return writer.respond(refusal)
        }
        switch request.path {
        case "/metrics": break
        case "/healthz": return writer.respond(.text(.ok, "ok\n"))
        case "/readyz":
            let (ready, detail) = readiness()
            return writer.respond(.text(ready ? .ok : .serviceUnavailable, detail + "\n"))
        default: return writer.respond(.text(.notFound, "not found"))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 << 10)
        registry.emit(into: &bytes)
        bytes += Self.processMetrics().utf8
        writer.respond(HTTPResponse(status: .ok, headers: ["content-type": "text/plain; version=0.0.4"], body: ByteBuffer(bytes: bytes)))
    }
}
