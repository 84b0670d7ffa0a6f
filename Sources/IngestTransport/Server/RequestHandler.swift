import IngestCore
import NIOCore
import NIOHTTP1

/// Collects one request at a time (an HTTP/1.1 connection or one HTTP/2 stream) up to the
/// responder's body limit, hands it over and writes the response.
final class RequestHandler: ChannelInboundHandler, RemovableChannelHandler, ResponseSink, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        case idle
        case receiving(head: HTTPRequestHead, body: ByteBuffer?, limit: Int)
        /// The body passed the limit; the rest of the request is dropped.
        case discarding
        case responding
    }

    let responder: any HTTPResponder
    let isHTTP2: Bool
    let activity: ServerActivity
    /// For HTTP/1.1 connections (one handler per connection); nil on HTTP/2 streams.
    let idle: IdleWatch?
    let requestTimeout: TimeAmount
    var state = State.idle
    /// Set while the handler is in a pipeline; responses are written through it.
    var context: ChannelHandlerContext?
    /// Whether the request being answered asked to keep the connection.
    var keepAlive = true
    /// When the request being received began (for `--request-timeout`).
    var receivingSince: NIODeadline?
    /// The file the body being received is written to (``BodyIntake/spool(directory:)``).
    var spool: BodySpool?
    /// The spooled body of the request being answered: deleted once answered.
    var answering: SpooledBody?
    /// The status of the streamed answer under way (``writeHead(_:stream:)``), if one is.
    var streamedStatus: UInt?

    /// `idleTimeout` nil: no watch at all (HTTP/2 stream channels of the multiplexed mode have
    /// their connection watched; they pass `.zero` to watch only the request timeout).
    init(
        responder: any HTTPResponder, isHTTP2: Bool, activity: ServerActivity, idleTimeout: TimeAmount? = nil,
        requestTimeout: TimeAmount = .zero
    ) {
        self.responder = responder
        self.isHTTP2 = isHTTP2
        self.activity = activity
        self.requestTimeout = requestTimeout
        self.idle = idleTimeout.map { IdleWatch(timeout: $0, requestTimeout: requestTimeout, watchesStream: isHTTP2, metrics: activity.metrics) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        idle?.start(
            context: context,
            isIdle: { [unowned self] in
                if case .idle = self.state { return true }
                return false
            },
            oldestRequest: { [unowned self] in self.receivingSince })
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idle?.stop()
        spool?.discard()
        spool = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        idle?.sawActivity()
        switch unwrapInboundIn(data) {
        case .head(let head):
            let limit = responder.bodyLimit(uri: head.uri)
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limit {
                return refuse(context: context, head: head, limit: limit)
            }
            switch responder.bodyIntake(uri: head.uri, headers: RequestHeaders(head.headers)) {
            case .collect: break
            case .refuse(let response): return refuse(context: context, response: response)
            case .spool(let directory, let timeout, let lease):
                guard let file = BodySpool(directory: directory, lease: lease) else { return refuse(context: context, response: .error(.spoolUnavailable)) }
                spool = file
                // The watch measures from the start: an upload's longer allowance moves its start on.
                receivingSince = .now() + .nanoseconds(max(Int64(timeout.milliseconds) * 1_000_000 - requestTimeout.nanoseconds, 0))
            }
            state = .receiving(head: head, body: nil, limit: limit)
            if spool == nil { receivingSince = .now() }
        case .body(var chunk):
            guard case .receiving(let head, var body, let limit) = state else { return }
            if let spool {
                if spool.size + chunk.readableBytes > limit { return refuse(context: context, head: head, limit: limit) }
                if !spool.append(chunk) { refuse(context: context, response: .error(.spoolUnavailable)) }
                return
            }
            let total = (body?.readableBytes ?? 0) + chunk.readableBytes
            if total > limit {
                refuse(context: context, head: head, limit: limit)
                return
            }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            state = .receiving(head: head, body: body, limit: limit)
        case .end:
            switch state {
            case .receiving(let head, let body, _):
                state = .responding
                receivingSince = nil
                answering = spool?.finish()
                spool = nil
                let request = HTTPRequest(
                    method: head.method, uri: head.uri, headers: RequestHeaders(head.headers),
                    body: body ?? context.channel.allocator.buffer(capacity: 0), isHTTP2: isHTTP2, spooled: answering)
                activity.requestStarted()
                keepAlive = head.isKeepAlive
                responder.handle(request, writer: ResponseWriter(eventLoop: context.eventLoop, sink: self, stream: 0))
            case .discarding:
                state = .idle
                receivingSince = nil
            case .idle, .responding:
                break
            }
        }
    }

    /// Answers a body over the limit at once and stops reading the request.
    func refuse(context: ChannelHandlerContext, head: HTTPRequestHead, limit: Int) {
        refuse(context: context, response: responder.bodyTooLarge(uri: head.uri, limit: limit))
    }

    /// Answers the request at once and drops the rest of it.
    func refuse(context: ChannelHandlerContext, response refusal: HTTPResponse) {
        state = .discarding
        spool?.discard()
        spool = nil
        // The rest of the body is still read (and dropped) on an HTTP/2 stream: the request
        // timeout bounds that too.
        if receivingSince == nil { receivingSince = .now() }
        var response = refusal
        if !isHTTP2 {
            // The unread rest of the body would be taken for the next request: close instead.
            response.headers.replaceOrAdd(name: "connection", value: "close")
        }
        writeParts(response, context: context)
        if !isHTTP2 {
            context.close(promise: nil)
        }
    }

    /// ResponseSink: called on the event loop with the answer to the current request.
    func write(_ response: HTTPResponse, stream: Int) {
        activity.requestFinished(status: response.status.code)
        BodySpool.remove(answering)
        answering = nil
        guard let context else { return }
        write(response, keepAlive: keepAlive, context: context)
    }

    func write(_ response: HTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        guard case .responding = state else { return }
        state = .idle
        var response = response
        if !isHTTP2 && !keepAlive { response.headers.replaceOrAdd(name: "connection", value: "close") }
        writeParts(response, context: context)
        if !isHTTP2 && !keepAlive { context.close(promise: nil) }
    }

    /// ResponseSink: a streamed answer's head, without a content length (chunked on HTTP/1.1).
    /// The handler stays `.responding` until the answer ends.
    func writeHead(_ response: HTTPResponse, stream: Int) {
        BodySpool.remove(answering)
        answering = nil
        streamedStatus = response.status.code
        guard let context, case .responding = state else { return }
        var headers = response.headers
        headers.remove(name: "content-length")
        if !isHTTP2 && !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: isHTTP2 ? .http2 : .http1_1, status: response.status, headers: headers))),
                              promise: nil)
    }

    /// ResponseSink: one body part of a streamed answer.
    func writeChunk(_ chunk: ByteBuffer, stream: Int, promise: EventLoopPromise<Void>) {
        guard streamedStatus != nil, let context else { return promise.fail(StreamedBody.NotTaken()) }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: written)
        watchChunk(written.futureResult, promise: promise, timeout: requestTimeout) { self.endStream(stream, complete: false) }
    }

    /// ResponseSink: ends a streamed answer, or cuts it: the connection (HTTP/1.1) or the
    /// stream (HTTP/2) is closed before its end.
    func endStream(_ stream: Int, complete: Bool) {
        guard let status = streamedStatus else { return }
        streamedStatus = nil
        activity.requestFinished(status: status)
        guard let context, case .responding = state else { return }
        state = .idle
        guard complete else { return context.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if !isHTTP2 && !keepAlive { context.close(promise: nil) }
    }

    func writeParts(_ response: HTTPResponse, context: ChannelHandlerContext) {
        var headers = response.headers
        headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        let head = HTTPResponseHead(version: isHTTP2 ? .http2 : .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
