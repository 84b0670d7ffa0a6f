import Metrics

/// The listener's metrics, created once: responses by status class, open connections, and the
/// connections it closed or refused by reason.
struct ServerMetrics: Sendable {
    let responses: [Counter]
    let connections = Gauge(label: "ingest.http.connections")
    /// Refused at accept: the client address already holds `--max-connections-per-address`.
    let refusedPerAddress = Counter(label: "ingest.http.connections.refused", dimensions: [("reason", "per_address")])
    let closedIdle = Counter(label: "ingest.http.connections.closed", dimensions: [("reason", "idle")])
    let closedSlowRequest = Counter(label: "ingest.http.connections.closed", dimensions: [("reason", "slow_request")])
    let closedSlowRead = Counter(label: "ingest.http.connections.closed", dimensions: [("reason", "slow_read")])
    let closedHandshake = Counter(label: "ingest.http.connections.closed", dimensions: [("reason", "handshake_timeout")])
    /// Closed after an HTTP/2 connection error (NIO sent GOAWAY: a flood or a protocol violation).
    let closedProtocolError = Counter(label: "ingest.http.connections.closed", dimensions: [("reason", "protocol_error")])

    init() {
        responses = ["1xx", "2xx", "3xx", "4xx", "5xx"].map {
            Counter(label: "ingest.http.responses", dimensions: [("status", $0)])
        }
    }

    func responded(_ status: UInt) {
        let index = Int(status / 100) - 1
        if responses.indices.contains(index) { responses[index].increment() }
    }

    /// Counts an error NIO's HTTP/2 handler raised on a connection (a flood or a protocol
    /// violation: it answers them with GOAWAY or RST_STREAM itself; ``HTTP2Violation`` decides
    /// whether the connection is closed too), by the error's type, a fixed set of NIO's.
    func http2Error(_ error: any Error) {
        Counter(label: "ingest.http2.errors", dimensions: [("kind", String(describing: type(of: error)))]).increment()
    }
}
