import Foundation
import IngestCore
import IngestStorage
import IngestTransport
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The gateway: serves the ThreatMapper sensor API (`/deepfence/…`) and the operator API
/// (`/api/v1/…`, admin keys only) on the public port. Stateless: it verifies tokens, bounds and
/// decompresses bodies, finds the node ID, and hands the request to the owner of the node's shard.
public final class Gateway: HTTPResponder {
    public let configuration: GatewayConfiguration
    let authenticator: Authenticator
    let router: ShardRouter
    /// The one way calls reach a shard's owner.
    let forwarder: Forwarder
    /// What operators read and do (the operator API here, and the web console).
    public let operations: OperatorService
    let catalog: CatalogStore
    let parser: ReportParser
    let clock: any IngestClock
    let logger: Logger
    let metrics = GatewayMetrics()
    /// SBOM uploads decoded and stored at once (`--max-concurrent-uploads`).
    let uploadSlots: UploadSlots
    /// The disk uploads may hold (`--max-spool-bytes`).
    let spoolBudget: SpoolBudget
    /// What this gateway forwards and the cluster's beat it hears back (see ``recordForwarded(_:)``).
    public let loadBeat: LoadBeat
    public init(
        configuration: GatewayConfiguration, authenticator: Authenticator, router: ShardRouter, catalog: CatalogStore,
        placements: [PlacementStore], clock: any IngestClock, logger: Logger,
        localWorkerStats: @escaping @Sendable () -> [String] = { [] }
    ) {
        self.configuration = configuration
        self.uploadSlots = UploadSlots(limit: configuration.maxConcurrentUploads)
        self.spoolBudget = SpoolBudget(capacity: configuration.maxSpoolBytes)
        // Uploads fail with 503 (spool unavailable) if it cannot be made; the log says why.
        do {
            try FileManager.default.createDirectory(atPath: configuration.uploadDirectory, withIntermediateDirectories: true)
        } catch {
            logger.error("the upload directory cannot be created: uploads will be refused", metadata: [
                "directory": "\(configuration.uploadDirectory)", "setting": "--upload-dir"])
        }
        self.authenticator = authenticator
        self.router = router
        self.catalog = catalog
        self.forwarder = Forwarder(router: router, timeout: configuration.forwardTimeout, retries: metrics.retries)
        let loadBeat = LoadBeat(timeout: configuration.clusterBeatTimeout, metrics: metrics, logger: logger)
        self.loadBeat = loadBeat
        self.operations = OperatorService(
            forwarder: forwarder, catalog: catalog, placements: placements, clock: clock, localWorkerStats: localWorkerStats,
            stretchedBeat: { loadBeat.floor })
        self.parser = ReportParser(limits: configuration.parserLimits)
        self.clock = clock
        self.logger = logger
        metrics.beatRate.record(0)
    }

    /// The cluster's beat while raised (0: none); sent with each forwarded report and poll
    /// (``ParsedReport/beatFloor``), so the owner answers it and expects the node's next report by it.
    var beatFloor: Int { loadBeat.floor ?? 0 }

    /// Counts a forwarded report or poll answered: refused when `error` is one of load (the
    /// owner's backlog full, too many requests outstanding to it, no answer in time). The
    /// totals go to the coordinator leader with the next heartbeat (``LoadBeat``).
    func recordForwarded(_ error: IngestError?) {
        loadBeat.count(refused: error.map(Self.isRefusalForLoad) ?? false)
    }

    static func isRefusalForLoad(_ error: IngestError) -> Bool {
        error.code == .overloaded || error.code == .forwardTimeout || error.code == .commitTimeout
    }

    /// The 4xx and 5xx answers this gateway has sent since it started.
    public var errorsAnswered: Int { metrics.errorsAnswered.value }

    // MARK: HTTPResponder

    public func bodyLimit(uri: String) -> Int {
        if Self.isSBOMUpload(uri) { return configuration.maxSBOMBytes }
        return uri.hasPrefix("/deepfence/ingest/") ? configuration.maxBodyBytes : configuration.maxRequestBytes
    }

    public func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse {
        let setting = Self.isSBOMUpload(uri) ? "--max-sbom-bytes" : uri.hasPrefix("/deepfence/ingest/") ? "--max-body-bytes" : "--max-request-bytes"
        return .error(.bodyTooLarge(limit: limit, setting: setting))
    }

    public func handle(_ request: HTTPRequest, writer: ResponseWriter) {
        let path = request.path
        let writer = metrics.counted(request, writer: writer)
        if path.hasPrefix("/deepfence/") {
            handleSensorRoute(request, writer: writer)
        } else if path.hasPrefix("/api/v1/") {
            handleOperatorRoute(request, writer: writer)
        } else {
            respond(writer, error: .notFound)
        }
    }

    /// Answers with an error, counting it by code.
    func respond(_ writer: ResponseWriter, error: IngestError) {
        metrics.error(error)
        writer.respond(.error(error))
    }

    /// Answers 405 naming the methods the route takes (`Allow`, RFC 9110 §15.5.6).
    func refuseMethod(_ writer: ResponseWriter, allow methods: [HTTPMethod]) {
        metrics.error(.methodNotAllowed)
        var response = HTTPResponse.error(.methodNotAllowed)
        response.headers.add(name: "allow", value: methods.map(\.rawValue).joined(separator: ", "))
        writer.respond(response)
    }

    // MARK: Helpers

    /// Runs async work for a request and answers with its result (or its error).
    func respondAsync(_ writer: ResponseWriter, _ work: @escaping @Sendable () async throws(IngestError) -> HTTPResponse) {
        let logger = self.logger
        Task {
            do throws(IngestError) {
                writer.respond(try await work())
            } catch {
                if error.httpStatus >= 500 {
                    logger.warning("request failed", metadata: ["code": "\(error.code)"])
                }
                self.respond(writer, error: error)
            }
        }
    }

    /// The JSON object of a request body, or a 400 naming what is wrong.
    func jsonObject(_ body: ByteBuffer) throws(IngestError) -> JSONObject {
        try SensorRequest.object(Array(body.readableBytesView))
    }
}

/// A gateway's part in the cluster's beat (``ClusterBeat``): the totals of what it forwarded,
/// which its heartbeat sends, and the beat the coordinator leader decided, which the heartbeat
/// reads back (``MemberHeartbeat/Load``). Shared with its operator service (the web console's overview).
public final class LoadBeat: Sendable {
    let forwarded = Atomic<Int64>(0)
    let refused = Atomic<Int64>(0)
    /// The beat heard (0: not raised) and when, by this process's clock.
    let heard = Mutex<(beatRate: Int, at: ContinuousClock.Instant)?>(nil)
    let timeout: Duration
    let metrics: GatewayMetrics
    let logger: Logger

    init(timeout: Duration, metrics: GatewayMetrics, logger: Logger) {
        self.timeout = timeout
        self.metrics = metrics
        self.logger = logger
    }

    func count(refused wasRefused: Bool) {
        forwarded.add(1, ordering: .relaxed)
        if wasRefused { refused.add(1, ordering: .relaxed) }
    }

    /// The cluster's beat while raised and kept by a leader within the timeout, else nil.
    public var floor: Int? {
        heard.withLock { heard in
            guard let heard, heard.beatRate > 0, ContinuousClock.now - heard.at < timeout else { return nil }
            return heard.beatRate
        }
    }

    /// What this gateway's heartbeat sends and hears.
    public var heartbeatLoad: MemberHeartbeat.Load {
        MemberHeartbeat.Load(
            totals: { (self.forwarded.load(ordering: .relaxed), self.refused.load(ordering: .relaxed)) },
            heard: { beatRate, age in self.hear(beatRate, age: age) })
    }

    /// Takes the cluster's beat read back with a heartbeat: kept `age` ago by a leader.
    func hear(_ beatRate: Int, age: Duration) {
        let before = floor ?? 0
        heard.withLock { $0 = (beatRate, ContinuousClock.now - age) }
        let now = floor ?? 0
        guard now != before else { return }
        metrics.beatRate.record(now)
        logger.notice("cluster beat rate changed", metadata: ["beat_rate": "\(now)", "was": "\(before)"])
    }
}
