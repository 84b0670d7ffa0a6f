import IngestCore
import IngestTransport
import Metrics
import Synchronization

/// The gateway's metrics, created once: requests, responses (by status class) and body bytes per
/// route, refusals per error code, and the time from a report's arrival to its acknowledgement.
struct GatewayMetrics: Sendable {
    enum Route: String, CaseIterable {
        case ping, token, refresh, report, findings, controls, operatorAPI = "operator", other

        /// The route a request path counts under.
        init(path: Substring) {
            switch path {
            case "/deepfence/ping": self = .ping
            case "/deepfence/auth/token": self = .token
            case "/deepfence/auth/token/refresh": self = .refresh
            case "/deepfence/ingest/report": self = .report
            case _ where path.hasPrefix("/deepfence/ingest/"): self = .findings
            case _ where path.hasPrefix("/deepfence/controls/"): self = .controls
            case _ where path.hasPrefix("/api/v1/"): self = .operatorAPI
            default: self = .other
            }
        }
    }

    static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    let requests: [Route: Counter]
    /// Per route, one counter per status class (`statusClasses`).
    let responses: [Route: [Counter]]
    let bytesIn: [Route: Counter]
    let errors: [String: Counter]
    let reportDuration = Timer(label: "ingest.gateway.report.duration")
    let retries = Counter(label: "ingest.gateway.retries")
    /// The cluster's beat this gateway stretches the workers' to (``ClusterBeat``), seconds, as
    /// its last heartbeat read it; 0 when not raised.
    let beatRate = Gauge(label: "ingest.gateway.beat.rate")
    /// Findings, scan statuses and cloud resources acknowledged to sensors.
    let findingRecords = Counter(label: "ingest.gateway.findings.records")
    /// Every 4xx and 5xx answered, as a running total this process can read (the web console's
    /// activity chart).
    let errorsAnswered = RunningTotal()

    init() {
        requests = Dictionary(uniqueKeysWithValues: Route.allCases.map {
            ($0, Counter(label: "ingest.gateway.requests", dimensions: [("route", $0.rawValue)]))
        })
        responses = Dictionary(uniqueKeysWithValues: Route.allCases.map { route in
            (route, Self.statusClasses.map {
                Counter(label: "ingest.gateway.responses", dimensions: [("route", route.rawValue), ("status", $0)])
            })
        })
        bytesIn = Dictionary(uniqueKeysWithValues: Route.allCases.map {
            ($0, Counter(label: "ingest.gateway.bytes.in", dimensions: [("route", $0.rawValue)]))
        })
        errors = Dictionary(uniqueKeysWithValues: IngestError.Code.all.map {
            ($0.rawValue, Counter(label: "ingest.gateway.errors", dimensions: [("code", $0.rawValue)]))
        })
    }

    /// Counts a request and its body, and returns the writer that counts its response.
    func counted(_ request: HTTPRequest, writer: ResponseWriter) -> ResponseWriter {
        let route = Route(path: request.path)
        requests[route]?.increment()
        bytesIn[route]?.increment(by: request.body.readableBytes)
        guard let classes = responses[route] else { return writer }
        let errorsAnswered = self.errorsAnswered
        return writer.observed { status in
            let index = Int(status.code / 100) - 1
            if classes.indices.contains(index) { classes[index].increment() }
            if status.code >= 400 { errorsAnswered.add(1) }
        }
    }

    func error(_ error: IngestError) { errors[error.code.rawValue]?.increment() }
}

/// A count this process can read back (a metrics Counter cannot be read).
final class RunningTotal: Sendable {
    private let total = Atomic<Int>(0)

    func add(_ amount: Int) { total.wrappingAdd(amount, ordering: .relaxed) }

    var value: Int { total.load(ordering: .relaxed) }
}
