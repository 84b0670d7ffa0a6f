import Foundation
import IngestCore
import IngestTransport
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// A worker in another process, as a gateway reaches it: one long-lived HTTP/2 connection
/// (TLS against the cluster CA, or h2c on a private network), requests multiplexed as streams,
/// at most ``Settings/maxInFlight`` at once, each bounded by a deadline.
public final class RemoteShardOwner: ShardOwner, Sendable {
    /// How a gateway talks to workers.
    public struct Settings: Sendable {
        /// TLS trusting the cluster CA; nil speaks h2c (`--internal-plaintext`).
        public var tls: NIOSSLContext?
        /// The cluster token sent with every request.
        public var token: String
        /// Requests in flight to one worker beyond which new ones get 503 (`--max-worker-in-flight`,
        /// default 1000); one whose deadline passed counts until the worker answers it.
        public var maxInFlight: Int = 1000
        /// How long one forwarded request may take (`--forward-timeout`, default 5 s).
        public var timeout: Duration = .seconds(5)
        /// How long a connection attempt may take (default 2 s).
        public var connectTimeout: Duration = .seconds(2)

        public init(tls: NIOSSLContext?, token: String) {
            self.tls = tls
            self.token = token
        }
    }

    /// The worker's member ID.
    public let memberID: String
    /// `host:port` as the worker advertises it.
    public let address: String
    let host: String
    let port: Int
    let settings: Settings
    let connection = Mutex<HTTPClientConnection?>(nil)
    let inFlight = Atomic<Int>(0)

    /// An owner at `address` (`host:port`, IPv6 in brackets); nil when the address is not of that form.
    public init?(memberID: String, address: String, settings: Settings) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        self.memberID = memberID
        self.address = address
        self.host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
        self.settings = settings
    }

    /// Closes the connection (the worker moved or left).
    public func close() async {
        let current = connection.withLock { current in
            defer { current = nil }
            return current
        }
        await current?.close()
    }

    func connected() async throws -> HTTPClientConnection {
        if let current = connection.withLock({ $0 }), current.isActive { return current }
        let serverName = TLSMaterial.isIPAddress(host) ? nil : host
        let fresh = try await HTTPClientConnection.connect(
            host: host, port: port, tls: settings.tls, serverName: serverName, http2: true,
            connectTimeout: settings.connectTimeout)
        let (chosen, extra) = connection.withLock { current -> (HTTPClientConnection, HTTPClientConnection?) in
            if let current, current.isActive { return (current, fresh) }
            current = fresh
            return (fresh, nil)
        }
        if let extra { await extra.close() }
        return chosen
    }

    /// Sends one request within the in-flight limit and the deadline; a non-2xx answer becomes
    /// the worker's error (its stable code). No connection is `unavailable` (nothing was sent, so
    /// the forwarder tries again on a fresh map). A connection that fails once the request went
    /// out leaves it in doubt: `unavailable` too when it is `repeatable` (a report, a poll,
    /// findings: a resend is recognised), else ``IngestError/noAnswer``, which is not retried, so
    /// that a command or a scan is not queued twice.
    ///
    /// A request counts against the limit until the worker answers it or its connection fails,
    /// not until the caller stops waiting: one given up on at the deadline still holds a stream
    /// on the connection and work in the worker. Were it let go at the deadline, a worker slower
    /// than the deadline would collect ever more such streams, every new request would queue
    /// behind them (NIO buffers streams past the worker's concurrency limit) and time out in
    /// turn, and the gateway would answer nothing but 503 `forward_timeout` for as long as its
    /// sensors kept retrying (seen with 30,000 sensors on 6 gateways: three of them did so for
    /// minutes while the other three were answered). Counted until answered, they make new
    /// requests fail at once with 503 `overloaded` while the worker catches up.
    func send(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders, body: ByteBuffer?, deadline: ContinuousClock.Instant? = nil,
        repeatable: Bool = true
    ) async -> Result<ClientResponse, IngestError> {
        guard inFlight.wrappingAdd(1, ordering: .relaxed).newValue <= settings.maxInFlight else {
            inFlight.wrappingSubtract(1, ordering: .relaxed)
            return .failure(.overloaded)
        }
        var withToken = headers
        withToken.add(name: ClusterWire.tokenHeader, value: settings.token)
        let timeout = deadline.map { min(settings.timeout, max($0 - .now, .milliseconds(1))) } ?? settings.timeout
        let sent = withToken
        // Whichever comes first answers: the worker, or the deadline. A request the worker never
        // answers (it is paused, or the network dropped it) must not hold the caller past it.
        let outcome: Result<ClientResponse, IngestError>? = try? await withDeadline(timeout) {
            defer { self.inFlight.wrappingSubtract(1, ordering: .relaxed) }
            let client: HTTPClientConnection
            do {
                client = try await self.connected()
            } catch {
                await self.close()
                return .failure(.unavailable)
            }
            do {
                return .success(try await client.request(method, path, headers: sent, body: body))
            } catch {
                await self.close()
                return .failure(repeatable ? .unavailable : .noAnswer)
            }
        }
        guard let outcome else { return .failure(.deadlineExceeded) }
        switch outcome {
        case .failure(let error): return .failure(error)
        case .success(let response) where response.status.code < 300: return .success(response)
        case .success(let response): return .failure(Self.error(from: response))
        }
    }

    /// The error a worker answered with.
    static func error(from response: ClientResponse) -> IngestError {
        guard let object = try? JSONObject(parsing: Array(response.body.readableBytesView)),
            let code = object["code"]?.string, let message = object["message"]?.string
        else { return .internalError }
        return .relayed(code: code, message: message, setting: object["setting"]?.string)
    }

    func routeHeaders(nodeID: String, shard: Int, epoch: Int64, mapVersion: Int64) -> HTTPHeaders {
        [
            ClusterWire.nodeHeader: nodeID, ClusterWire.shardHeader: String(shard), ClusterWire.epochHeader: String(epoch),
            ClusterWire.mapVersionHeader: String(mapVersion),
        ]
    }

    /// Forwards a report body as the sensor sent it; completes with the beat rate once the
    /// worker committed it.
    public func forwardReport(
        body: ByteBuffer, contentEncoding: String?, nodeID: String, shard: Int, epoch: Int64, mapVersion: Int64,
        beatFloor: Int = 0, deadline: ContinuousClock.Instant? = nil,
        completion: @escaping @Sendable (Result<Int, IngestError>) -> Void
    ) {
        var headers = routeHeaders(nodeID: nodeID, shard: shard, epoch: epoch, mapVersion: mapVersion)
        if let contentEncoding { headers.add(name: "content-encoding", value: contentEncoding) }
        if beatFloor > 0 { headers.add(name: ClusterWire.beatFloorHeader, value: String(beatFloor)) }
        Task {
            let result = await send(.POST, ClusterWire.reportPath, headers: headers, body: body, deadline: deadline)
            completion(result.flatMap { response in
                guard let beatRate = (try? JSONObject(parsing: Array(response.body.readableBytesView)))?["beatrate"]?.int else {
                    return .failure(.internalError)
                }
                return .success(beatRate)
            })
        }
    }

    // MARK: ShardOwner

    public func submit(
        _ report: ParsedReport, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void
    ) {
        forwardReport(body: ByteBuffer(bytes: report.bytes), contentEncoding: nil, nodeID: report.nodeID, shard: shard,
                      epoch: epoch, mapVersion: -1, beatFloor: report.beatFloor, completion: completion)
    }

    public func controls(
        _ request: ControlsRequest, shard: Int, epoch: Int64,
        completion: @escaping @Sendable (Result<AgentControls, IngestError>) -> Void
    ) {
        let headers = routeHeaders(nodeID: request.nodeID, shard: shard, epoch: epoch, mapVersion: -1)
        Task {
            let result = await send(.POST, ClusterWire.controlsPath, headers: headers, body: ByteBuffer(string: ClusterWire.json(request)))
            completion(result.flatMap { response in
                Result { () throws(IngestError) in try ClusterWire.controlsAnswer(Array(response.body.readableBytesView)) }
            })
        }
    }

    public func queueCommand(nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String) async throws
        -> AgentCommand
    {
        let headers = routeHeaders(nodeID: nodeID, shard: shard, epoch: epoch, mapVersion: -1)
        let body = ByteBuffer(string: ClusterWire.commandJSON(nodeID: nodeID, actionID: actionID, requestPayload: requestPayload))
        let response = try await send(.POST, ClusterWire.commandsPath, headers: headers, body: body, repeatable: false).get()
        guard let id = (try? JSONObject(parsing: Array(response.body.readableBytesView)))?["command_id"]?.int else {
            throw IngestError.internalError
        }
        return AgentCommand(commandID: Int64(id), actionID: actionID, requestPayload: requestPayload)
    }

    public func submitFindings(
        _ part: FindingsPart, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void
    ) {
        let headers = routeHeaders(nodeID: part.nodeID, shard: shard, epoch: epoch, mapVersion: -1)
        Task {
            let result = await send(.POST, ClusterWire.findingsPath, headers: headers, body: ByteBuffer(string: ClusterWire.json(part)))
            completion(result.map { _ in part.count })
        }
    }

    public func queueScan(
        _ scanID: String, kind: FindingKind, nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String
    ) async throws -> AgentCommand {
        let headers = routeHeaders(nodeID: nodeID, shard: shard, epoch: epoch, mapVersion: -1)
        let body = ByteBuffer(string: ClusterWire.scanJSON(
            scanID: scanID, kind: kind, nodeID: nodeID, actionID: actionID, requestPayload: requestPayload))
        let response = try await send(.POST, ClusterWire.scansPath, headers: headers, body: body, repeatable: false).get()
        guard let id = (try? JSONObject(parsing: Array(response.body.readableBytesView)))?["command_id"]?.int else {
            throw IngestError.internalError
        }
        return AgentCommand(commandID: Int64(id), actionID: actionID, requestPayload: requestPayload)
    }

    /// The worker's counters as a JSON object, or nil when it does not answer.
    public func stats() async -> String? {
        guard case .success(let response) = await send(.GET, ClusterWire.statsPath, headers: [:], body: nil) else { return nil }
        return response.text
    }
}
