import IngestTestSupport
import IngestTransport
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization
import Testing

/// The frames mode checks request header blocks itself (NIO's check is off there): a client
/// that does not check what it sends gets its malformed requests reset, and the connection and
/// its other streams carry on.
@Suite(.timeLimit(.minutes(2)))
struct MalformedHeaderTests {
    /// Collects the frames the server sends, per stream.
    final class FrameLog: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP2Frame
        let frames = Mutex<[HTTP2StreamID: [HTTP2Frame.FramePayload]]>([:])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            frames.withLock { $0[frame.streamID, default: []].append(frame.payload) }
        }

        /// Waits until the stream ended (reset, or END_STREAM) and returns what ended it.
        func outcome(_ id: HTTP2StreamID) async throws -> String {
            for _ in 0..<200 {
                let payloads = frames.withLock { $0[id] ?? [] }
                for payload in payloads {
                    switch payload {
                    case .rstStream(let code): return "reset \(code)"
                    case .headers(let headers):
                        if let status = headers.headers.first(name: ":status"), headers.endStream { return "status \(status)" }
                        if let status = headers.headers.first(name: ":status"), payloads.contains(where: {
                            if case .data(let data) = $0 { return data.endStream } else { return false }
                        }) { return "status \(status)" }
                    default: break
                    }
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            return "no answer"
        }
    }

    @Test func malformedHeaderBlocksAreResetAndTheConnectionCarriesOn() async throws {
        let console = try await TestConsole.start("malformed")
        do {
            let log = FrameLog()
            let tls = try console.tls.clientContext(alpn: ["h2"])
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
                        // This client sends what it is told, malformed or not.
                        configuration.headerBlockValidation = .disabled
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: "localhost"))
                        try sync.addHandler(NIOHTTP2Handler(mode: .client, connectionConfiguration: configuration, streamConfiguration: .init()))
                        try sync.addHandler(log)
                    }
                }
                .connect(host: "127.0.0.1", port: console.port).get()
            func send(_ id: Int, _ extra: [(String, String)], pseudo: [(String, String)]? = nil) {
                var headers = HPACKHeaders(pseudo ?? [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"), (":path", "/deepfence/ping")])
                headers.add(contentsOf: extra)
                channel.writeAndFlush(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .headers(.init(headers: headers, endStream: true))), promise: nil)
            }
            send(1, [])
            send(3, [("X-Custom", "x")])                            // upper-case name (not in the HPACK static table)
            send(5, [("x-injected", "a\r\nx-other: b")])             // CR LF in a value
            send(7, [("connection", "keep-alive")])                  // connection-specific field
            send(9, [], pseudo: [(":method", "GET"), (":path", "/deepfence/ping")])   // no :scheme
            send(11, [("accept", "*/*"), (":path", "/again")])        // pseudo-field after a regular one
            send(13, [("te", "trailers"), ("x-fine", "yes")])
            #expect(try await log.outcome(HTTP2StreamID(1)) == "status 200")
            for id in [3, 5, 7, 9, 11] {
                #expect(try await log.outcome(HTTP2StreamID(id)) == "reset \(HTTP2ErrorCode.protocolError)", "stream \(id)")
            }
            #expect(try await log.outcome(HTTP2StreamID(13)) == "status 200")
            #expect(channel.isActive)
            try? await channel.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }
}
