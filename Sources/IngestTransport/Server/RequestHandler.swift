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
    var state = State.idle
    /// Set while the handler is in a pipeline; responses are written through it.
    var context: ChannelHandlerContext?
    /// Whether the request being answered asked to keep the connection.
    var keepAlive = true
    /// When the request being received began (for `--request-timeout`).
    var receivingSince: NIODeadline?

    /// `idleTimeout` nil: no watch at all (HTTP/2 stream channels of the multiplexed mode have
    /// their connection watched; they pass `.zero` to watch only the request timeout).
    init(
        responder: any HTTPResponder, isHTTP2: Bool, activity: ServerActivity, idleTimeout: TimeAmount? = nil,
        requestTimeout: TimeAmount = .zero
    ) {
        self.responder = responder
        self.isHTTP2 = isHTTP2
        self.activity = activity
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
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        idle?.sawActivity()
        switch unwrapInboundIn(data) {
        case .head(let head):
            let limit = responder.bodyLimit(uri: head.uri)
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limit {
                refuse(context: context, head: head, limit: limit)
            } else {
                state = .receiving(head: head, body: nil, limit: limit)
                receivingSince = .now()
            }
        case .body(var chunk):
            guard case .receiving(let head, var body, let limit) = state else { return }
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
                let request = HTTPRequest(
                    method: head.method, uri: head.uri, headers: RequestHeaders(head.headers),
                    body: body ?? context.channel.allocator.buffer(capacity: 0), isHTTP2: isHTTP2)
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
        state = .discarding
        // The rest of the body is still read (and dropped) on an HTTP/2 stream: the request
        // timeout bounds that too.
        if receivingSince == nil { receivingSince = .now() }
        var response = responder.bodyTooLarge(uri: head.uri, limit: limit)
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
