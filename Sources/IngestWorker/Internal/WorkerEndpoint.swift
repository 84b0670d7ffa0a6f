import IngestCompression
import IngestCore
import IngestStorage
import IngestTransport
import NIOCore
import NIOHTTP1

/// The worker's internal listener: the requests gateways forward (``ClusterWire``), authenticated
/// by the cluster token, answered once the worker committed (reports) or decided (controls).
public final class WorkerEndpoint: HTTPResponder {
    /// What the endpoint accepts.
    public struct Limits: Sendable {
        /// Largest forwarded body, compressed (the gateway's `--max-body-bytes`).
        public var maxBodyBytes: Int = 8 << 20
        /// Largest report after gunzip (the gateway's `--max-report-bytes`).
        public var maxReportBytes: Int = 64 << 20
        /// Most a body may inflate, times its size (the gateway's `--max-compression-ratio`).
        public var maxCompressionRatio: Int = 200
        /// What one report may contain.
        public var parserLimits = ReportParser.Limits()

        public init() {}
    }

    let worker: Worker
    let token: String
    let limits: Limits
    let parser: ReportParser
    let shardFunction: ShardFunction

    public init(worker: Worker, clusterToken: String, limits: Limits) {
        self.worker = worker
        self.token = clusterToken
        self.limits = limits
        self.parser = ReportParser(limits: limits.parserLimits)
        self.shardFunction = ShardFunction(shardCount: worker.configuration.shardCount)
    }

    /// Findings parts come decompressed (the gateway gunzipped them to split them per node).
    public func bodyLimit(uri: String) -> Int { uri == ClusterWire.findingsPath ? limits.maxReportBytes : limits.maxBodyBytes }

    public func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse {
        .error(.bodyTooLarge(limit: limit, setting: "--max-body-bytes"))
    }

    public func handle(_ request: HTTPRequest, writer: ResponseWriter) {
        guard ClusterWire.tokensMatch(request.headers.first(name: ClusterWire.tokenHeader), token) else {
            return writer.respond(.error(.invalidToken))
        }
        switch (request.method, request.path) {
        case (.POST, ClusterWire.reportPath[...]): report(request, writer: writer)
        case (.POST, ClusterWire.controlsPath[...]): controls(request, writer: writer)
        case (.POST, ClusterWire.commandsPath[...]): queueCommand(request, writer: writer)
        case (.POST, ClusterWire.findingsPath[...]): findings(request, writer: writer)
        case (.POST, ClusterWire.scansPath[...]): queueScan(request, writer: writer)
        case (.GET, ClusterWire.statsPath[...]):
            writer.respond(.json(.ok, worker.statsJSON))
        default: writer.respond(.error(.notFound))
        }
    }

    /// The shard and epoch a forwarded request names; the shard must be the node's.
    func target(_ request: HTTPRequest, nodeID: String) throws(IngestError) -> (shard: Int, epoch: Int64) {
        guard let shard = request.headers.first(name: ClusterWire.shardHeader).flatMap({ Int($0) }),
            let epoch = request.headers.first(name: ClusterWire.epochHeader).flatMap({ Int64($0) })
        else { throw .invalidRequest("internal request: x-shard and x-epoch are required") }
        guard shardFunction.shard(of: nodeID) == shard else {
            throw .invalidRequest("internal request: the node does not hash to x-shard")
        }
        return (shard, epoch)
    }

    func report(_ request: HTTPRequest, writer: ResponseWriter) {
        var report: ParsedReport
        let route: (shard: Int, epoch: Int64)
        do throws(IngestError) {
            let encoding = request.headers.first(name: "content-encoding")
            let (limit, ratio) = (limits.maxReportBytes, limits.maxCompressionRatio)
            let bytes = try request.body.withUnsafeReadableBytes { raw throws(IngestError) in
                try ReportBody.decode(raw, contentEncoding: encoding, limit: limit, maxRatio: ratio)
            }
            report = try parser.parse(bytes)
            if let named = request.headers.first(name: ClusterWire.nodeHeader), named != report.nodeID {
                throw .invalidRequest("internal request: x-node-id is not the report's node")
            }
            route = try target(request, nodeID: report.nodeID)
            report.beatFloor = request.headers.first(name: ClusterWire.beatFloorHeader).flatMap { Int($0) } ?? 0
        } catch {
            return writer.respond(.error(error))
        }
        worker.submit(report, shard: route.shard, epoch: route.epoch) { result in
            switch result {
            case .success(let beatRate): writer.respond(.json(.ok, #"{"beatrate":\#(beatRate)}"#))
            case .failure(let error): writer.respond(.error(error))
            }
        }
    }

    func controls(_ request: HTTPRequest, writer: ResponseWriter) {
        let controls: ControlsRequest
        let route: (shard: Int, epoch: Int64)
        do throws(IngestError) {
            controls = try ClusterWire.controlsRequest(Array(request.body.readableBytesView))
            route = try target(request, nodeID: controls.nodeID)
        } catch {
            return writer.respond(.error(error))
        }
        worker.controls(controls, shard: route.shard, epoch: route.epoch) { result in
            switch result {
            case .success(let answer): writer.respond(.json(.ok, ClusterWire.json(answer)))
            case .failure(let error): writer.respond(.error(error))
            }
        }
    }

    func findings(_ request: HTTPRequest, writer: ResponseWriter) {
        let part: FindingsPart
        let route: (shard: Int, epoch: Int64)
        do throws(IngestError) {
            part = try ClusterWire.findingsPart(Array(request.body.readableBytesView))
            route = try target(request, nodeID: part.nodeID)
        } catch {
            return writer.respond(.error(error))
        }
        worker.submitFindings(part, shard: route.shard, epoch: route.epoch) { result in
            switch result {
            case .success(let records): writer.respond(.json(.ok, #"{"records":\#(records)}"#))
            case .failure(let error): writer.respond(.error(error))
            }
        }
    }

    func queueScan(_ request: HTTPRequest, writer: ResponseWriter) {
        let scan: (scanID: String, kind: FindingKind, nodeID: String, actionID: Int, requestPayload: String)
        let route: (shard: Int, epoch: Int64)
        do throws(IngestError) {
            scan = try ClusterWire.scan(Array(request.body.readableBytesView))
            route = try target(request, nodeID: scan.nodeID)
        } catch {
            return writer.respond(.error(error))
        }
        let worker = self.worker
        Task {
            do {
                let queued = try await worker.queueScan(
                    scan.scanID, kind: scan.kind, nodeID: scan.nodeID, shard: route.shard, epoch: route.epoch,
                    actionID: scan.actionID, requestPayload: scan.requestPayload)
                writer.respond(.json(.created, #"{"command_id":\#(queued.commandID)}"#))
            } catch let error as IngestError {
                writer.respond(.error(error))
            } catch {
                writer.respond(.error(.unavailable))
            }
        }
    }

    func queueCommand(_ request: HTTPRequest, writer: ResponseWriter) {
        let command: (nodeID: String, actionID: Int, requestPayload: String)
        let route: (shard: Int, epoch: Int64)
        do throws(IngestError) {
            command = try ClusterWire.command(Array(request.body.readableBytesView))
            route = try target(request, nodeID: command.nodeID)
        } catch {
            return writer.respond(.error(error))
        }
        let worker = self.worker
        Task {
            do {
                let queued = try await worker.queueCommand(
                    nodeID: command.nodeID, shard: route.shard, epoch: route.epoch, actionID: command.actionID,
                    requestPayload: command.requestPayload)
                writer.respond(.json(.created, #"{"command_id":\#(queued.commandID)}"#))
            } catch let error as IngestError {
                writer.respond(.error(error))
            } catch {
                writer.respond(.error(.unavailable))
            }
        }
    }
}
