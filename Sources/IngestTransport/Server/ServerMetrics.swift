import Metrics

/// The listener's metrics, created once: responses by status class, open connections.
struct ServerMetrics: Sendable {
    let responses: [Counter]
    let connections = Gauge(label: "ingest.http.connections")

    init() {
        responses = ["1xx", "2xx", "3xx", "4xx", "5xx"].map {
            Counter(label: "ingest.http.responses", dimensions: [("status", $0)])
        }
    }

    func responded(_ status: UInt) {
        let index = Int(status / 100) - 1
        if responses.indices.contains(index) { responses[index].increment() }
    }
}
