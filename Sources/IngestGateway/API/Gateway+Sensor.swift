import Foundation
import IngestCompression
import IngestCore
import IngestTransport
import NIOCore
import NIOHTTP1

/// The ThreatMapper sensor API.
extension Gateway {
    func handleSensorRoute(_ request: HTTPRequest, writer: ResponseWriter) {
        let isPost = request.method == .POST
        switch request.path {
        case "/deepfence/ping":
            metrics.request(.ping)
            guard request.method == .GET || request.method == .HEAD else { return respond(writer, error: .methodNotAllowed) }
            writer.respond(.pong)
        case "/deepfence/auth/token":
            metrics.request(.token)
            guard isPost else { return respond(writer, error: .methodNotAllowed) }
            login(request, writer: writer)
        case "/deepfence/auth/token/refresh":
            metrics.request(.refresh)
            guard isPost else { return respond(writer, error: .methodNotAllowed) }
            do {
                let pair = try authenticator.refresh(authorization: request.headers.first(name: "authorization"), now: clock.now())
                writer.respond(Self.tokenResponse(pair))
            } catch {
                respond(writer, error: error)
            }
        case "/deepfence/ingest/report":
            metrics.request(.report)
            guard isPost else { return respond(writer, error: .methodNotAllowed) }
            ingestReport(request, writer: writer)
        case "/deepfence/controls/agent-init":
            metrics.request(.controls)
            guard isPost else { return respond(writer, error: .methodNotAllowed) }
            controls(request, route: .agentInit, writer: writer)
        case "/deepfence/controls/agent":
            metrics.request(.controls)
            guard isPost else { return respond(writer, error: .methodNotAllowed) }
            controls(request, route: .agent, writer: writer)
        case "/deepfence/controls/kubernetes-cluster":
            metrics.request(.controls)
            guard isPost else { return respond(writer, error: .methodNotAllowed) }
            controls(request, route: .kubernetesCluster, writer: writer)
        case "/deepfence/controls/cloud-node":
            metrics.request(.controls)
            guard isPost else { return respond(writer, error: .methodNotAllowed) }
            cloudNodeControls(request, writer: writer)
        default:
            metrics.request(.other)
            respond(writer, error: .notFound)
        }
    }

    static func tokenResponse(_ pair: (access: String, refresh: String)) -> HTTPResponse {
        .json(.ok, #"{"access_token":"# + JSONText.quoted(pair.access) + #","refresh_token":"# + JSONText.quoted(pair.refresh) + "}")
    }

    // MARK: Auth

    func login(_ request: HTTPRequest, writer: ResponseWriter) {
        let object: JSONObject
        do { object = try jsonObject(request.body) } catch { return respond(writer, error: error) }
        guard let token = object["api_token"]?.string, !token.isEmpty else {
            return respond(writer, error: .invalidRequest("api_token: a string is required"))
        }
        let authenticator = self.authenticator
        let now = clock.now()
        respondAsync(writer) { () throws(IngestError) in
            Self.tokenResponse(try await authenticator.login(apiToken: token, now: now))
        }
    }

    // MARK: Ingest

    func ingestReport(_ request: HTTPRequest, writer: ResponseWriter) {
        let report: ParsedReport
        do {
            _ = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .sensor, now: clock.now())
            report = try parser.parse(try decodeBody(request))
        } catch {
            return respond(writer, error: error)
        }
        switch router.route(report.nodeID) {
        case .failure(let error):
            respond(writer, error: error)
        case .success(let route):
            let started = ContinuousClock.now
            route.owner.submit(report, shard: route.shard, epoch: route.epoch) { [metrics] result in
                switch result {
                case .success(let beatRate):
                    metrics.reportDuration.recordNanoseconds(Int64((ContinuousClock.now - started).milliseconds * 1_000_000))
                    writer.respond(.json(.ok, #"{"beatrate":\#(beatRate)}"#))
                case .failure(let error):
                    metrics.error(error)
                    writer.respond(.error(error))
                }
            }
        }
    }

    /// The report bytes: gunzipped when the body is gzip (what sensors send, with
    /// `Content-Encoding: gzip`), taken as-is when it is plain JSON without an encoding.
    func decodeBody(_ request: HTTPRequest) throws(IngestError) -> [UInt8] {
        let encoding = request.headers.first(name: "content-encoding")?.lowercased()
        let limit = configuration.maxReportBytes
        return try request.body.withUnsafeReadableBytes { raw throws(IngestError) -> [UInt8] in
            if Gzip.hasGzipMagic(raw) {
                do throws(Gzip.Failure) {
                    return try Gzip.decompress(raw, limit: limit)
                } catch .tooLarge {
                    throw .reportTooLarge(limit: limit, setting: "--max-report-bytes")
                } catch {
                    throw .malformedGzip
                }
            }
            switch encoding {
            case nil, "identity":
                guard raw.count > 0 else { throw .invalidRequest("the report body is empty") }
                return Array(raw)
            case "gzip", "x-gzip":
                throw .malformedGzip
            case let other?:
                throw .unsupportedEncoding(other)
            }
        }
    }

    // MARK: Controls

    func controls(_ request: HTTPRequest, route: ControlsRequest.Route, writer: ResponseWriter) {
        let controls: ControlsRequest
        do {
            _ = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .sensor, now: clock.now())
            controls = try Self.controlsRequest(try jsonObject(request.body), route: route)
        } catch {
            return respond(writer, error: error)
        }
        switch router.route(controls.nodeID) {
        case .failure(let error):
            respond(writer, error: error)
        case .success(let owner):
            owner.owner.controls(controls, shard: owner.shard, epoch: owner.epoch) { [metrics] result in
                switch result {
                case .success(let answer): writer.respond(.json(.ok, Self.controlsJSON(answer)))
                case .failure(let error):
                    metrics.error(error)
                    writer.respond(.error(error))
                }
            }
        }
    }

    /// Reads `{"node_id", "available_workload", "node_type", "version"}`.
    static func controlsRequest(_ object: JSONObject, route: ControlsRequest.Route) throws(IngestError) -> ControlsRequest {
        guard let nodeID = object["node_id"]?.string, !nodeID.isEmpty, nodeID.utf8.count <= 1024 else {
            throw .invalidRequest("node_id: a non-empty string of at most 1024 bytes is required")
        }
        var workload = 0
        if let value = object["available_workload"], value.kind != .null {
            guard let number = value.int else { throw .invalidRequest("available_workload: an integer is required") }
            workload = number
        }
        let version = object["version"]?.string
        if let value = object["version"], value.kind != .string, value.kind != .null {
            throw .invalidRequest("version: a string is required")
        }
        return ControlsRequest(route: route, nodeID: nodeID, availableWorkload: workload, version: version)
    }

    static func controlsJSON(_ answer: AgentControls) -> String {
        let commands = answer.commands.map { #"{"id":\#($0.actionID),"request_payload":\#(JSONText.quoted($0.requestPayload))}"# }
        return #"{"beatrate":\#(answer.beatRate),"commands":[\#(commands.joined(separator: ","))]}"#
    }

    /// `POST /deepfence/controls/cloud-node`: the cloud-compliance controls of a provider and
    /// benchmark. This console keeps no compliance benchmark catalog, so the list is empty.
    func cloudNodeControls(_ request: HTTPRequest, writer: ResponseWriter) {
        do throws(IngestError) {
            _ = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .sensor, now: clock.now())
            let object = try jsonObject(request.body)
            let providers = ["aws", "gcp", "azure", "linux", "kubernetes"]
            let benchmarks = ["hipaa", "gdpr", "pci", "nist", "cis", "soc_2", "nsa-cisa", "aws_foundational_security"]
            guard let provider = object["cloud_provider"]?.string, providers.contains(provider) else {
                throw IngestError.invalidRequest("cloud_provider: one of \(providers.joined(separator: ", ")) is required")
            }
            guard let benchmark = object["compliance_type"]?.string, benchmarks.contains(benchmark) else {
                throw IngestError.invalidRequest("compliance_type: one of \(benchmarks.joined(separator: ", ")) is required")
            }
            writer.respond(.json(.ok, #"{"controls":[]}"#))
        } catch {
            respond(writer, error: error)
        }
    }
}
