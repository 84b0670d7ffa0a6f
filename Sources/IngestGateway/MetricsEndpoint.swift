import IngestTransport
import NIOCore
import NIOHTTP1
import Prometheus

/// Serves `GET /metrics` in the Prometheus text format from a registry, on its own listener
/// (`--metrics-address`, plain HTTP, meant for a loopback or cluster-internal address).
public final class MetricsEndpoint: HTTPResponder {
    let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    public func bodyLimit(uri: String) -> Int { 0 }

    public func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse {
        HTTPResponse(status: .payloadTooLarge)
    }

    public func handle(_ request: HTTPRequest, writer: ResponseWriter) {
        guard request.path == "/metrics" else { return writer.respond(.text(.notFound, "not found")) }
        guard request.method == .GET else { return writer.respond(.text(.methodNotAllowed, "GET only")) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 << 10)
        registry.emit(into: &bytes)
        writer.respond(HTTPResponse(status: .ok, headers: ["content-type": "text/plain; version=0.0.4"], body: ByteBuffer(bytes: bytes)))
    }
}
