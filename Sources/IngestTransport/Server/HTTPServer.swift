import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
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

    /// Bounds on what one client may hold or send, each a flag of the public listener.
    public struct Limits: Sendable, Hashable {
        /// Largest request header block: HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE and HTTP/1.1's
        /// header limit (`--max-header-bytes`, default 16 KiB).
        public var maxHeaderBytes = 16 << 10
        /// Open connections one client IP address may hold; more are closed at accept
        /// (`--max-connections-per-address`, default 1000; 0: no limit).
        public var maxConnectionsPerAddress = 1000
        /// A TLS handshake not finished within this is closed (`--tls-handshake-timeout`, default 10 s).
        public var handshakeTimeout: Duration = .seconds(10)
        /// A request not arrived whole within this long of its start closes its connection
        /// (slowloris), and so does a connection unwritable this long (a client not reading its
        /// answers) (`--request-timeout`, default 60 s; 0: off).
        public var requestTimeout: Duration = .seconds(60)
        /// RST_STREAM frames a client may send per 30 s before its connection is closed: rapid
        /// reset, CVE-2023-44487 (`--http2-reset-limit`, default 200).
        public var http2ResetLimit = 200
        /// PING, SETTINGS, PRIORITY frames a client may send per 30 s (`--http2-control-frame-limit`, default 200);
        /// in the frames mode also the DATA frames without payload or END_STREAM a connection may send.
        public var http2ControlFrameLimit = 200
        /// CONTINUATION frames one header block may span (`--http2-max-continuation-frames`, default 5).
        public var http2MaxContinuationFrames = 5

        public init() {}

        /// Checks the limits; returns the problems, naming the flags.
        public func problems() -> [String] {
            var problems: [String] = []
            if maxHeaderBytes < 4096 { problems.append("--max-header-bytes must be at least 4KiB") }
            if maxConnectionsPerAddress < 0 { problems.append("--max-connections-per-address must be 0 (no limit) or more") }
            if handshakeTimeout < .milliseconds(100) { problems.append("--tls-handshake-timeout must be at least 100ms") }
            if requestTimeout < .zero { problems.append("--request-timeout must be 0 (off) or more") }
            if http2ResetLimit < 1 { problems.append("--http2-reset-limit must be at least 1") }
            if http2ControlFrameLimit < 1 { problems.append("--http2-control-frame-limit must be at least 1") }
            if http2MaxContinuationFrames < 0 { problems.append("--http2-max-continuation-frames must be 0 or more") }
            return problems
        }
    }

    /// Listener settings.
    public struct Configuration: Sendable {
        /// The address to bind (`--host`, default `0.0.0.0`).
        public var host: String
        /// The port (`--port`, default 443); 0 picks a free one.
        public var port: Int
        /// The TLS context (certificate, key, ALPN), read for each new connection; nil serves
        /// plain HTTP/1.1 (the metrics endpoint on a loopback address, never the public port).
        public var tls: TLSContextSource?
        /// How often certificate files are checked for a new certificate (`--tls-reload-interval`,
        /// default 30 s; 0: never).
        public var tlsReloadInterval: Duration = .seconds(30)
        /// What one client may hold or send.
        public var limits = Limits()
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
        /// The listener's name in its metrics (`listener`): public (the default), internal (a
        /// worker's port for gateways), metrics.
        public var listener = "public"

        public init(
            host: String = "0.0.0.0", port: Int = 443, tls: NIOSSLContext?, maxConcurrentStreams: Int = 100,
            streamWindow: Int = 1 << 20, idleTimeout: Duration = .seconds(300), shutdownGrace: Duration = .seconds(10)
        ) {
            self.host = host
            self.port = port
            self.tls = tls.map(TLSContextSource.init(fixed:))
            self.maxConcurrentStreams = maxConcurrentStreams
            self.streamWindow = streamWindow
            self.idleTimeout = idleTimeout
            self.shutdownGrace = shutdownGrace
        }
    }

    public let configuration: Configuration
    public let activity: ServerActivity
    let responder: any HTTPResponder
    let group: any EventLoopGroup
    let logger: Logger
    let channel = Mutex<(any Channel)?>(nil)

    public init(configuration: Configuration, responder: any HTTPResponder, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        activity = ServerActivity(listener: configuration.listener)
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
        let limits = configuration.limits
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.streamWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: limits.maxHeaderBytes),
        ]
        connection.targetWindowSize = max(configuration.streamWindow * 4, 65_535)
        connection.maximumSequentialContinuationFrames = limits.http2MaxContinuationFrames
        connection.controlFrameRateLimit.maximumCount = limits.http2ControlFrameLimit
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = configuration.streamWindow
        stream.streamResetFrameRateLimit.maximumCount = limits.http2ResetLimit
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        let http1Limits = decoderLimits
        let requestTimeout = TimeAmount.milliseconds(limits.requestTimeout.milliseconds)
        let handshakeTimeout = TimeAmount.milliseconds(limits.handshakeTimeout.milliseconds)
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
                streamWindowTarget: streamSettings.targetWindowSize, idleTimeout: idle, requestTimeout: requestTimeout,
                emptyDataFrameLimit: limits.http2ControlFrameLimit))
        }
        /// HTTP/1.1 on a connection (TLS without ALPN `h2`, or plain).
        @Sendable func addHTTP1Handlers(_ sync: ChannelPipeline.SynchronousOperations) throws {
            // No more reading while the answers already written cannot be sent: a pipelining
            // client that never reads would otherwise grow the outbound buffer without bound.
            try sync.addHandler(BackPressureHandler())
            try sync.configureHTTPServerPipeline(
                withPipeliningAssistance: true, withErrorHandling: true, withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: http1Limits)
            try sync.addHandler(RequestHandler(
                responder: responder, isHTTP2: false, activity: activity, idleTimeout: idle, requestTimeout: requestTimeout))
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Reads of at most 4 KiB: the buffer a connection keeps between reads stays small
            // (NIO's default grows it to 64 KiB after one large read, and keeps it).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 4096))
            .childChannelInitializer { channel in
                guard activity.connectionOpened(channel, maxPerAddress: limits.maxConnectionsPerAddress) else {
                    return channel.close()
                }
                guard let tls = configuration.tls else {
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if configuration.plaintextHTTP2 {
                            // h2c with prior knowledge: the cluster's internal transport on a private network.
                            return try addFramesHandlers(sync)
                        }
                        try addHTTP1Handlers(sync)
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: tls.current))
                    try sync.addHandler(HandshakeDeadline(timeout: handshakeTimeout, metrics: activity.metrics))
                }.flatMap {
                    channel.configureHTTP2SecureUpgrade(
                        h2ChannelConfigurator: { channel in
                            try? channel.pipeline.syncOperations.addHandler(ReadCompactor())
                            if configuration.http2Mode == .frames {
                                return channel.eventLoop.makeCompletedFuture { try addFramesHandlers(channel.pipeline.syncOperations) }
                            }
                            // Multiplexed: streams are separate channels, so idleness is watched per
                            // connection and a slow request per stream.
                            try? channel.pipeline.syncOperations.addHandlers(IdleStateHandler(allTimeout: idle), IdleCloser())
                            return channel.configureHTTP2Pipeline(
                                mode: .server, connectionConfiguration: connectionSettings, streamConfiguration: streamSettings
                            ) { stream in
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandlers(
                                        HTTP2FramePayloadToHTTP1ServerCodec(),
                                        RequestHandler(
                                            responder: responder, isHTTP2: true, activity: activity, idleTimeout: .zero,
                                            requestTimeout: requestTimeout))
                                }
                            }.flatMapThrowing { _ in
                                try channel.pipeline.syncOperations.addHandler(HTTP2ViolationCloser(metrics: activity.metrics))
                            }
                        },
                        http1ChannelConfigurator: { channel in
                            channel.eventLoop.makeCompletedFuture { try addHTTP1Handlers(channel.pipeline.syncOperations) }
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
        let reloader = configuration.tls.map { tls in
            Task { [interval = configuration.tlsReloadInterval, logger] in await tls.watch(interval: interval, logger: logger) }
        }
        defer { reloader?.cancel() }
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

/// Closes a connection whose TLS handshake has not finished within the timeout (a client that
/// opens connections and never speaks holds a socket and a TLS state each); removes itself once
/// the handshake completes.
final class HandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let timeout: TimeAmount
    let metrics: ServerMetrics
    var deadline: Scheduled<Void>?

    init(timeout: TimeAmount, metrics: ServerMetrics) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let metrics = self.metrics
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            metrics.closedHandshake.increment()
            bound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if case TLSUserEvent.handshakeCompleted = event {
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
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
