import Metrics

/// A listener's metrics, created once per listener: responses by status class, open
/// connections, and the connections it closed or refused by reason. Each carries the listener's
/// name (`listener`: public, internal, metrics), as a process runs several listeners and their
/// open connections are separate gauges.
struct ServerMetrics: Sendable {
    let listener: String
    let responses: [Counter]
    let connections: Gauge
    /// Refused at accept: the client address already holds `--max-connections-per-address`.
    let refusedPerAddress: Counter
    let closedIdle: Counter
    let closedSlowRequest: Counter
    let closedSlowRead: Counter
    let closedHandshake: Counter
    /// Closed after an HTTP/2 connection error (NIO sent GOAWAY: a flood or a protocol violation).
    let closedProtocolError: Counter

    init(listener: String) {
        self.listener = listener
        let named = [("listener", listener)]
        responses = ["1xx", "2xx", "3xx", "4xx", "5xx"].map {
            Counter(label: "ingest.http.responses", dimensions: named + [("status", $0)])
        }
        connections = Gauge(label: "ingest.http.connections", dimensions: named)
        refusedPerAddress = Counter(label: "ingest.http.connections.refused", dimensions: named + [("reason", "per_address")])
        func closed(_ reason: String) -> Counter {
            Counter(label: "ingest.http.connections.closed", dimensions: named + [("reason", reason)])
        }
        closedIdle = closed("idle")
        closedSlowRequest = closed("slow_request")
        closedSlowRead = closed("slow_read")
        closedHandshake = closed("handshake_timeout")
        closedProtocolError = closed("protocol_error")
    }

    func responded(_ status: UInt) {
        let index = Int(status / 100) - 1
        if responses.indices.contains(index) { responses[index].increment() }
    }

    /// Counts an error NIO's HTTP/2 handler raised on a connection (a flood or a protocol
    /// violation: it answers them with GOAWAY or RST_STREAM itself; ``HTTP2Violation`` decides
    /// whether the connection is closed too), by the error's type, a fixed set of NIO's.
    func http2Error(_ error: any Error) {
        Counter(label: "ingest.http2.errors", dimensions: [("listener", listener), ("kind", String(describing: type(of: error)))]).increment()
    }
}
