@testable import IngestGateway
import IngestCore
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
}
