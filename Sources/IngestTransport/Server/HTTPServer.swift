import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import IngestCore

/// The HTTPS listener: TLS with ALPN `h2` and `http/1.1` (and HTTP/1.1 for clients without ALPN),
/// every request on a NIO pipeline of its own kind, answered by one ``HTTPResponder``.
///
/// HTTP/2 streams each get a child channel with `HTTP2FramePayloadToHTTP1ServerCodec`, so both
/// protocols share one ``RequestHandler``.
public final class HTTPServer: Service, Sendable {
    /// How HTTP/2 streams are served.
    public enum HTTP2Mode: String, Sendable, Hashable, CaseIterable {
        /// Straight from the connection's frames (``HTTP2FrameHandler``): no channel per stream.
        case frames
        /// NIO's stream multiplexer: a child channel per stream with the HTTP/1 codec.
        case multiplexed
    }

    /// Listener settings.
    public struct Configuration: Sendable {
        /// The address to bind (`--host`, default `0.0.0.0`).
        public var host: String
        /// The port (`--port`, default 443); 0 picks a free one.
        public var port: Int
        /// The TLS context (certificate, key, ALPN); nil serves plain HTTP/1.1 (the metrics
        /// endpoint on a loopback address, never the public port).
        public var tls: NIOSSLContext?
        /// Concurrent streams per HTTP/2 connection (`--max-concurrent-streams`, default 100).
        public var maxConcurrentStreams: Int
        /// HTTP/2 per-stream receive window, bytes (default 1 MiB).
        public var streamWindow: Int
        /// Close connections without traffic for this long (`--idle-timeout`, default 5 minutes).
        public var idleTimeout: Duration
        /// On graceful shutdown, how long to let requests in flight finish (default 10 s).
        public var shutdownGrace: Duration
        /// How HTTP/2 streams are served (`--http2-mode`, default frames).
        public var http2Mode: HTTP2Mode = .frames
        /// Without TLS: speak HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1. The
        /// cluster's internal transport on a private network (`--internal-plaintext`).
        public var plaintextHTTP2 = false

        public init(
            host: String = "0.0.0.0", port: Int = 443, tls: NIOSSLContext?, maxConcurrentStreams: Int = 100,
            streamWindow: Int = 1 << 20, idleTimeout: Duration = .seconds(300), shutdownGrace: Duration = .seconds(10)
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.maxConcurrentStreams = maxConcurrentStreams
            self.streamWindow = streamWindow
            self.idleTimeout = idleTimeout
            self.shutdownGrace = shutdownGrace
        }
    }

    public let configuration: Configuration
    public let activity = ServerActivity()
    let responder: any HTTPResponder
    let group: any EventLoopGroup
    let logger: Logger
    let channel = Mutex<(any Channel)?>(nil)

    public init(configuration: Configuration, responder: any HTTPResponder, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.responder = responder
        self.group = group
        self.logger = logger
    }

    /// Binds the listener; returns the bound port. Call before ``run()``.
    @discardableResult
    public func bind() async throws -> Int {
        let configuration = self.configuration
        let responder = self.responder
        let activity = self.activity
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.streamWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
        ]
        connection.targetWindowSize = max(configuration.streamWindow * 4, 65_535)
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = configuration.streamWindow
        // The frames mode checks request header blocks itself (RequestFieldRules) in the pass
        // that reads them; NIO's check scans them again, and the responses it would check are
        // this server's own.
        var framesConnection = connection
        framesConnection.headerBlockValidation = .disabled
        let (connectionSettings, framesConnectionSettings, streamSettings) = (connection, framesConnection, stream)
        let idle = TimeAmount.milliseconds(configuration.idleTimeout.milliseconds)
        /// HTTP/2 served from the connection's frames (TLS after ALPN `h2`, or h2c).
        @Sendable func addFramesHandlers(_ sync: ChannelPipeline.SynchronousOperations) throws {
            try sync.addHandler(NIOHTTP2Handler(
                mode: .server, connectionConfiguration: framesConnectionSettings, streamConfiguration: streamSettings))
            try sync.addHandler(HTTP2FrameHandler(
                responder: responder, activity: activity,
                connectionWindowTarget: connectionSettings.targetWindowSize,
                streamWindowTarget: streamSettings.targetWindowSize, idleTimeout: idle))
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                activity.connectionOpened(channel)
                guard let tls = configuration.tls else {
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if configuration.plaintextHTTP2 {
                            // h2c with prior knowledge: the cluster's internal transport on a private network.
                            return try addFramesHandlers(sync)
                        }
                        try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                        try sync.addHandler(RequestHandler(responder: responder, isHTTP2: false, activity: activity, idleTimeout: idle))
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                }.flatMap {
                    channel.configureHTTP2SecureUpgrade(
                        h2ChannelConfigurator: { channel in
                            if configuration.http2Mode == .frames {
                                return channel.eventLoop.makeCompletedFuture { try addFramesHandlers(channel.pipeline.syncOperations) }
                            }
                            // Multiplexed: streams are separate channels, so idleness is watched per connection.
                            try? channel.pipeline.syncOperations.addHandlers(IdleStateHandler(allTimeout: idle), IdleCloser())
                            return channel.configureHTTP2Pipeline(
                                mode: .server, connectionConfiguration: connectionSettings, streamConfiguration: streamSettings
                            ) { stream in
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandlers(
                                        HTTP2FramePayloadToHTTP1ServerCodec(),
                                        RequestHandler(responder: responder, isHTTP2: true, activity: activity))
                                }
                            }.map { _ in }
                        },
                        http1ChannelConfigurator: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                let sync = channel.pipeline.syncOperations
                                try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                                try sync.addHandler(RequestHandler(
                                    responder: responder, isHTTP2: false, activity: activity, idleTimeout: idle))
                            }
                        })
                }
            }
        let bound = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        channel.withLock { $0 = bound }
        let port = bound.localAddress?.port ?? configuration.port
        logger.info("listening", metadata: [
            "address": "\(configuration.host):\(port)", "protocols": "\(configuration.tls != nil ? "TLS h2,http/1.1" : configuration.plaintextHTTP2 ? "h2c (plain)" : "http/1.1 (plain)")"])
        return port
    }

    /// Serves until graceful shutdown: then stops accepting, lets requests in flight finish
    /// (up to the grace period) and closes the remaining connections.
    public func run() async throws {
        guard let listener = channel.withLock({ $0 }) else {
            throw ChannelError.ioOnClosedChannel
        }
        try await withGracefulShutdownHandler {
            try await listener.closeFuture.get()
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
        let deadline = ContinuousClock.now.advanced(by: configuration.shutdownGrace)
        while activity.requestsInFlight > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        activity.closeAll()
        logger.info("listener stopped")
    }

    /// The bound port, once ``bind()`` returned.
    public var port: Int? { channel.withLock { $0?.localAddress?.port } }
}

/// Closes a connection when the idle-state handler says it saw no traffic for the timeout.
final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
