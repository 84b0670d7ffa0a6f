import IngestCore
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// A response as a client receives it.
public struct ClientResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    /// The body as UTF-8 text.
    public var text: String { String(buffer: body) }
}

/// One client connection to an HTTPS server: HTTP/2 (requests multiplexed as streams, sent and
/// read as frames by ``HTTP2ClientStreams``) or HTTP/1.1 (requests pipelined in order). Used by
/// the load-test fleet, the tests and the gateway's forwarding to workers.
public final class HTTPClientConnection: Sendable {
    enum Transport {
        case http2(HTTP2ClientStreams)
        case http1
    }

    /// The underlying TCP channel.
    public let channel: any Channel
    let transport: Transport
    let authority: String

    init(channel: any Channel, transport: Transport, authority: String) {
        self.channel = channel
        self.transport = transport
        self.authority = authority
    }

    /// Whether the connection speaks HTTP/2.
    public var isHTTP2: Bool {
        if case .http2 = transport { return true }
        return false
    }

    /// Connects with TLS (or, with `tls` nil, plaintext); `http2` picks the protocol (with TLS the
    /// context's ALPN list must offer it; without, HTTP/2 is spoken with prior knowledge, h2c). `serverName` is used for SNI and certificate checks
    /// (nil: the certificate's IP addresses).
    public static func connect(
        host: String, port: Int, tls: NIOSSLContext?, serverName: String?, http2: Bool,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connectTimeout: Duration = .seconds(10)
    ) async throws -> HTTPClientConnection {
        let authority = port == 443 ? (serverName ?? host) : "\(serverName ?? host):\(port)"
        let streamsPromise = group.next().makePromise(of: HTTP2ClientStreams?.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                // As the server's connections: reads of at most 4 KiB, copied apart from
                // NIOSSL's buffer (ReadCompactor), so an idle connection keeps little.
                .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 4096))
                .connectTimeout(.milliseconds(connectTimeout.milliseconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let tls {
                            try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                            try sync.addHandler(ReadCompactor())
                        }
                        if http2 {
                            var connection = NIOHTTP2Handler.ConnectionConfiguration()
                            connection.initialSettings = [
                                HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
                                HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
                                HTTP2Setting(parameter: .enablePush, value: 0),
                            ]
                            try sync.addHandler(NIOHTTP2Handler(
                                mode: .client, connectionConfiguration: connection, streamConfiguration: .init()))
                            let streams = HTTP2ClientStreams(authority: authority, tls: tls != nil)
                            try sync.addHandler(streams)
                            streamsPromise.succeed(streams)
                        } else {
                            try sync.addHTTPClientHandlers()
                            try sync.addHandler(PipelinedResponseHandler())
                            streamsPromise.succeed(nil)
                        }
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            streamsPromise.fail(error)
            throw error
        }
        let streams = try await streamsPromise.futureResult.get()
        return HTTPClientConnection(channel: channel, transport: streams.map { .http2($0) } ?? .http1, authority: authority)
    }

    /// Sends one request and waits for its whole response.
    public func request(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil
    ) async throws -> ClientResponse {
        var headers = headers
        if let body {
            headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        } else if method == .POST || method == .PUT {
            headers.replaceOrAdd(name: "content-length", value: "0")
        }
        let promise = channel.eventLoop.makePromise(of: ClientResponse.self)
        switch transport {
        case .http2(let streams):
            let fields = headers
            if channel.eventLoop.inEventLoop {
                streams.send(method, path, headers: fields, body: body, promise: promise)
            } else {
                channel.eventLoop.execute { streams.send(method, path, headers: fields, body: body, promise: promise) }
            }
        case .http1:
            headers.replaceOrAdd(name: "host", value: authority)
            let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
            let channel = self.channel
            channel.eventLoop.execute {
                guard let handler = try? channel.pipeline.syncOperations.handler(type: PipelinedResponseHandler.self) else {
                    promise.fail(ChannelError.ioOnClosedChannel)
                    return
                }
                handler.enqueue(promise)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
            }
        }
        return try await promise.futureResult.get()
    }

    /// Whether the connection is still open.
    public var isActive: Bool { channel.isActive }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}

/// Matches HTTP/1.1 responses to pipelined requests, in order.
final class PipelinedResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    var waiting = CircularBuffer<EventLoopPromise<ClientResponse>>()
    var head: HTTPResponseHead?
    var body: ByteBuffer?

    func enqueue(_ promise: EventLoopPromise<ClientResponse>) { waiting.append(promise) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            if let head, let promise = waiting.popFirst() {
                promise.succeed(ClientResponse(status: head.status, headers: head.headers, body: body ?? ByteBuffer()))
            }
            head = nil
            body = nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        while let promise = waiting.popFirst() { promise.fail(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(ChannelError.eof) }
        context.fireChannelInactive()
    }
}
