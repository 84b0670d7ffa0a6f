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
            guard request.method == .GET || request.method == .HEAD else { return refuseMethod(writer, allow: [.GET, .HEAD]) }
            writer.respond(.pong)
        case "/deepfence/auth/token":
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            login(request, writer: writer)
        case "/deepfence/auth/token/refresh":
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            do {
                let pair = try authenticator.refresh(authorization: request.headers.first(name: "authorization"), now: clock.now())
                writer.respond(Self.tokenResponse(pair))
            } catch {
                respond(writer, error: error)
            }
        case "/deepfence/ingest/report":
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            ingestReport(request, writer: writer)
        case "/deepfence/controls/agent-init":
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            controls(request, route: .agentInit, writer: writer)
        case "/deepfence/controls/agent":
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            controls(request, route: .agent, writer: writer)
        case "/deepfence/controls/kubernetes-cluster":
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            controls(request, route: .kubernetesCluster, writer: writer)
        case "/deepfence/controls/cloud-node":
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            cloudNodeControls(request, writer: writer)
        case Self.sbomPath[...]:
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            ingestSBOM(request, writer: writer)
        case let path where path.hasPrefix("/deepfence/ingest/"):
            guard let route = IngestRoute(name: path.dropFirst("/deepfence/ingest/".count)) else { return respond(writer, error: .notFound) }
            guard isPost else { return refuseMethod(writer, allow: [.POST]) }
            ingestFindings(request, route: route, writer: writer)
        default:
            respond(writer, error: .notFound)
        }
    }

    static func tokenResponse(_ pair: (access: String, refresh: String)) -> HTTPResponse {
        .json(.ok, #"{"access_token":"# + JSONText.quoted(pair.access) + #","refresh_token":"# + JSONText.quoted(pair.refresh) + "}")
    }

    // MARK: Auth

    func login(_ request: HTTPRequest, writer: ResponseWriter) {
        let token: String
        do { token = try SensorRequest.login(Array(request.body.readableBytesView)) } catch { return respond(writer, error: error) }
        let authenticator = self.authenticator
        let now = clock.now()
        respondAsync(writer) { () throws(IngestError) in
            Self.tokenResponse(try await authenticator.login(apiToken: token, now: now))
        }
    }

    // MARK: Ingest

    /// Bodies up to this size are gunzipped and parsed on the event loop that read them (a
    /// typical report: 9 KB of gzip, well under a millisecond); larger ones, which may inflate to
    /// megabytes (a bomb stops only at `--max-compression-ratio` times its size), off it, so the
    /// other connections that loop serves do not wait for them.
    static let inlineDecodeBytes = 64 << 10

    func ingestReport(_ request: HTTPRequest, writer: ResponseWriter) {
        do {
            _ = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .sensor, now: clock.now())
        } catch {
            return respond(writer, error: error)
        }
        guard request.body.readableBytes > Self.inlineDecodeBytes else { return decodeAndSubmit(request, writer: writer) }
        Task { self.decodeAndSubmit(request, writer: writer) }
    }

    func decodeAndSubmit(_ request: HTTPRequest, writer: ResponseWriter) {
        var report: ParsedReport
        do {
            report = try parser.parse(try decodeBody(request))
        } catch {
            return respond(writer, error: error)
        }
        report.beatFloor = beatFloor
        let forward = ForwardedReport(
            report: report, body: request.body, contentEncoding: request.headers.first(name: "content-encoding"),
            started: ContinuousClock.now, deadline: ContinuousClock.now.advanced(by: configuration.forwardTimeout))
        submit(forward, writer: writer)
    }

    /// A report on its way to its owner, with what a retry needs.
    struct ForwardedReport: Sendable {
        let report: ParsedReport
        let body: ByteBuffer
        let contentEncoding: String?
        let started: ContinuousClock.Instant
        let deadline: ContinuousClock.Instant
    }

    /// Hands the report to its shard's owner (in process, or forwarded as the sensor sent it)
    /// through the forwarder: while the owner answers that the shard moved or is unavailable, the
    /// map is re-read and the report sent again until the forward deadline, then 503.
    func submit(_ forward: ForwardedReport, writer: ResponseWriter) {
        let metrics = self.metrics
        forwarder.forward(forward.report.nodeID, deadline: forward.deadline, { route, done in
            if let remote = route.owner as? RemoteShardOwner {
                remote.forwardReport(
                    body: forward.body, contentEncoding: forward.contentEncoding, nodeID: forward.report.nodeID,
                    shard: route.shard, epoch: route.epoch, mapVersion: route.mapVersion,
                    beatFloor: forward.report.beatFloor, deadline: forward.deadline, completion: done)
            } else {
                route.owner.submit(forward.report, shard: route.shard, epoch: route.epoch, completion: done)
            }
        }, completion: { (result: Result<Int, IngestError>) in
            switch result {
            case .success(let beatRate):
                self.recordForwarded(nil)
                metrics.reportDuration.recordNanoseconds(Int64((ContinuousClock.now - forward.started).milliseconds * 1_000_000))
                writer.respond(.json(.ok, #"{"beatrate":\#(beatRate)}"#))
            case .failure(let error):
                self.recordForwarded(error)
                metrics.error(error)
                writer.respond(.error(error))
            }
        })
    }

    /// The report bytes of the request (see ``ReportBody``).
    func decodeBody(_ request: HTTPRequest) throws(IngestError) -> [UInt8] {
        let encoding = request.headers.first(name: "content-encoding")
        let (limit, ratio) = (configuration.maxReportBytes, configuration.maxCompressionRatio)
        return try request.body.withUnsafeReadableBytes { raw throws(IngestError) -> [UInt8] in
            try ReportBody.decode(raw, contentEncoding: encoding, limit: limit, maxRatio: ratio)
        }
    }

    // MARK: Controls

    func controls(_ request: HTTPRequest, route: ControlsRequest.Route, writer: ResponseWriter) {
        var controls: ControlsRequest
        do {
            _ = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .sensor, now: clock.now())
            controls = try SensorRequest.controls(Array(request.body.readableBytesView), route: route)
            controls.beatFloor = beatFloor
        } catch {
            return respond(writer, error: error)
        }
        let (metrics, controlsRequest) = (self.metrics, controls)
        forwarder.forward(controlsRequest.nodeID, { route, done in
            route.owner.controls(controlsRequest, shard: route.shard, epoch: route.epoch, completion: done)
        }, completion: { (result: Result<AgentControls, IngestError>) in
            switch result {
            case .success(let answer):
                self.recordForwarded(nil)
                writer.respond(.json(.ok, Self.controlsJSON(answer)))
            case .failure(let error):
                self.recordForwarded(error)
                metrics.error(error)
                writer.respond(.error(error))
            }
        })
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
            _ = try SensorRequest.cloudNode(Array(request.body.readableBytesView))
            writer.respond(.json(.ok, #"{"controls":[]}"#))
        } catch {
            respond(writer, error: error)
        }
    }
}
