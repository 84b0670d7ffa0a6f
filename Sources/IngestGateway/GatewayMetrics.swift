import IngestCore
import Metrics

/// The gateway's metrics, created once: requests per route, refusals per error code, and the
/// time from a report's arrival to its acknowledgement.
struct GatewayMetrics: Sendable {
    enum Route: String, CaseIterable {
        case ping, token, refresh, report, controls, operatorAPI = "operator", other
    }

    let requests: [Route: Counter]
    let errors: [String: Counter]
    let reportDuration = Timer(label: "ingest.gateway.report.duration")
    let retries = Counter(label: "ingest.gateway.retries")

    init() {
        requests = Dictionary(uniqueKeysWithValues: Route.allCases.map {
            ($0, Counter(label: "ingest.gateway.requests", dimensions: [("route", $0.rawValue)]))
        })
        let codes: [IngestError.Code] = [
            .missingToken, .invalidToken, .expiredToken, .invalidAPIKey, .forbidden, .malformedJSON, .malformedGzip,
            .unsupportedEncoding, .invalidRequest, .bodyTooLarge, .reportTooLarge, .reportTooComplex, .notFound,
            .methodNotAllowed, .shardMoved, .overloaded, .unavailable, .forwardTimeout, .commitTimeout, .internalError,
        ]
        errors = Dictionary(uniqueKeysWithValues: codes.map {
            ($0.rawValue, Counter(label: "ingest.gateway.errors", dimensions: [("code", $0.rawValue)]))
        })
    }

    func request(_ route: Route) { requests[route]?.increment() }
    func error(_ error: IngestError) { errors[error.code.rawValue]?.increment() }
}
