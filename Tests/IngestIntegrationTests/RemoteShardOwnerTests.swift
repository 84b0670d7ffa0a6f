@testable import IngestGateway
import IngestCore
@testable import IngestTransport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// How a gateway's calls to a worker in another process fail when the connection does: a request
/// that went out and got no answer is retried on a fresh map only when a resend is harmless.
struct RemoteShardOwnerTests {
    /// A worker that takes a request (h2c, as `--internal-plaintext`) and drops its connection
    /// instead of answering: it counts the requests whose body reached it.
    final class Taken: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
    }

    final class DroppingWorker: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let marker: [UInt8]
        let taken: Taken
        var received: [UInt8] = []

        init(marker: String, taken: Taken) {
            self.marker = Array(marker.utf8)
            self.taken = taken
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytesView
            guard received.count >= marker.count,
                (0...(received.count - marker.count)).contains(where: { received[$0..<($0 + marker.count)].elementsEqual(marker) })
            else { return }
            taken.count.wrappingAdd(1, ordering: .relaxed)
            context.close(promise: nil)
        }
    }

    static let node = "in-doubt-node-7"

    @Test func aCommandOrScanWhoseWorkerFailsAfterTakingItIsNotRetriedButAPollIs() async throws {
        let taken = Taken()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DroppingWorker(marker: Self.node, taken: taken))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let owner = try #require(RemoteShardOwner(
            memberID: "worker-x", address: "127.0.0.1:\(port)", settings: .init(tls: nil, token: "cluster-token")))

        // A command: the worker may have queued it, so the answer is in doubt and not retried.
        let command = await #expect(throws: IngestError.self) {
            _ = try await owner.queueCommand(nodeID: Self.node, shard: 3, epoch: 1, actionID: 0, requestPayload: "{}")
        }
        #expect(command?.code == .forwardTimeout)
        #expect(command.map { !Forwarder.isRetryable($0) } == true)
        #expect(taken.value == 1)

        // A scan: the same.
        let scan = await #expect(throws: IngestError.self) {
            _ = try await owner.queueScan("scan-1", kind: .secret, nodeID: Self.node, shard: 3, epoch: 1, actionID: 1, requestPayload: "{}")
        }
        #expect(scan?.code == .forwardTimeout)
        #expect(taken.value == 2)

        // A control poll: a resend is harmless, so the forwarder tries again on a fresh map.
        let poll = await withCheckedContinuation { continuation in
            owner.controls(ControlsRequest(route: .agent, nodeID: Self.node, availableWorkload: 1), shard: 3, epoch: 1) {
                continuation.resume(returning: $0)
            }
        }
        guard case .failure(let error) = poll else { Issue.record("the dropped poll succeeded"); return }
        #expect(error.code == IngestError.Code.unavailable && Forwarder.isRetryable(error))
        #expect(taken.value == 3)

        // Nothing listening: nothing was sent, so even a command is tried again.
        server.close(promise: nil)
        try await server.closeFuture.get()
        let refused = await #expect(throws: IngestError.self) {
            _ = try await owner.queueCommand(nodeID: Self.node, shard: 3, epoch: 1, actionID: 0, requestPayload: "{}")
        }
        #expect(refused?.code == .unavailable)
        #expect(taken.value == 3)
    }

    /// A worker that holds every request until released, then answers the held ones and every
    /// later one at once.
    final class HeldWorker: HTTPResponder, Sendable {
        let state = Mutex<(open: Bool, held: [ResponseWriter])>((false, []))
        var held: Int { state.withLock { $0.held.count } }
        func bodyLimit(uri: String) -> Int { 1 << 20 }
        func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse { HTTPResponse(status: .payloadTooLarge) }
        func handle(_ request: HTTPRequest, writer: ResponseWriter) {
            let open = state.withLock { state in
                if !state.open { state.held.append(writer) }
                return state.open
            }
            if open { writer.respond(.json(.ok, "{}")) }
        }
        func release() {
            let writers = state.withLock { state in
                state.open = true
                defer { state.held = [] }
                return state.held
            }
            for writer in writers { writer.respond(.json(.ok, "{}")) }
        }
    }

    /// A worker slower than the deadline: requests the gateway gave up on still count against
    /// `--max-worker-in-flight` until the worker answers them, so a new one gets 503 `overloaded`
    /// at once instead of queueing behind their streams and timing out in turn; once the worker
    /// has answered them, requests go through again.
    @Test func requestsGivenUpOnCountUntilTheWorkerAnswersThem() async throws {
        let worker = HeldWorker()
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, tls: nil)
        configuration.plaintextHTTP2 = true
        let server = HTTPServer(configuration: configuration, responder: worker, group: MultiThreadedEventLoopGroup.singleton,
                                logger: Logger(label: "test"))
        let port = try await server.bind()
        var settings = RemoteShardOwner.Settings(tls: nil, token: "cluster-token")
        settings.maxInFlight = 2
        settings.timeout = .seconds(2)
        let owner = try #require(RemoteShardOwner(memberID: "worker-slow", address: "127.0.0.1:\(port)", settings: settings))

        async let first = owner.send(.POST, "/held", headers: [:], body: ByteBuffer(string: "1"))
        async let second = owner.send(.POST, "/held", headers: [:], body: ByteBuffer(string: "2"))
        for result in await [first, second] {
            guard case .failure(let error) = result else { Issue.record("a held request was answered"); continue }
            #expect(error.code == .forwardTimeout)
        }
        // Given up on, both are still on their way or held by the worker (on a busy machine they
        // may arrive after the deadline).
        let arrived = ContinuousClock.now.advanced(by: .seconds(10))
        while worker.held < 2 && ContinuousClock.now < arrived { try await Task.sleep(for: .milliseconds(20)) }
        #expect(worker.held == 2)

        // Within the 2-s deadline, so a request that went out would take longer than this bound.
        let asked = ContinuousClock.now
        guard case .failure(let refused) = await owner.send(.POST, "/held", headers: [:], body: ByteBuffer(string: "3")) else {
            Issue.record("a third request went out past the limit"); return
        }
        #expect(refused.code == .overloaded)
        #expect(ContinuousClock.now - asked < .seconds(1), "it waited instead of failing at once")
        #expect(worker.held == 2)

        worker.release()
        let drained = ContinuousClock.now.advanced(by: .seconds(5))
        while owner.inFlight.load(ordering: .relaxed) > 0 && ContinuousClock.now < drained {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(owner.inFlight.load(ordering: .relaxed) == 0)
        guard case .success(let answer) = await owner.send(.POST, "/held", headers: [:], body: ByteBuffer(string: "4")) else {
            Issue.record("the worker answered its held requests but a new one still failed"); return
        }
        #expect(answer.status == .ok)
        await owner.close()
        try await server.channel.withLock { $0 }?.close()
    }
}
