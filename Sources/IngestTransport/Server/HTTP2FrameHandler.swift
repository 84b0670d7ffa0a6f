import IngestCore
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Serves HTTP/2 requests straight from the connection's frames, without a child channel per
/// stream: NIO's stream multiplexer spends most of a small request's cost on creating and
/// tearing down those channels, and the sensor routes are small requests.
///
/// ## Implementation
/// `NIOHTTP2Handler` (without a stream initializer) passes every frame here. Per stream the
/// handler keeps the request head and body until END_STREAM, bounded by the responder's body
/// limit (a request over it is answered 413 and reset), hands the request to the responder, and
/// writes the answer as HEADERS (+ DATA) frames. Flow control is returned as NIO's multiplexer
/// does it: when the handler's `NIOHTTP2WindowUpdatedEvent`s show a receive window at half its
/// target or less, a WINDOW_UPDATE tops it up (the connection window counts DATA of every stream,
/// closed ones included).
final class HTTP2FrameHandler: ChannelInboundHandler, ResponseSink, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    struct StreamState {
        var method: HTTPMethod
        var uri: String
        var headers: HPACKHeaders
        var body: ByteBuffer?
        var limit: Int
        /// When the request's HEADERS arrived (for `--request-timeout`, which bounds the drain
        /// of a refused request too).
        var started: NIODeadline
        /// The request was answered (or answered early, 413); the rest of it is dropped.
        var refused = false
        /// Bytes dropped after an early answer. The client may finish sending up to
        /// ``discardAllowance`` (not every client reads an answer to a request it is still
        /// sending if the stream is reset), then the stream is reset.
        var discarded = 0
        /// The answer to a request its responder refused from its head (``BodyIntake/refuse(_:)``).
        var refusal: HTTPResponse?
        /// The file its body is written to (``BodyIntake/spool(directory:)``).
        var spool: BodySpool?
        /// A request refused from its head (no token, say) may send 1 MiB before it is reset, not
        /// its whole allowance.
        var discardAllowance: Int { refusal == nil ? max(limit, 1 << 20) : 1 << 20 }
    }

    let responder: any HTTPResponder
    let activity: ServerActivity
    let connectionWindowTarget: Int
    let streamWindowTarget: Int
    let idle: IdleWatch
    /// Streams still receiving their request (or draining a refused one).
    var streams: [HTTP2StreamID: StreamState] = [:]
    /// Requests handed to the responder and not answered yet.
    var answering = 0
    /// The spooled bodies of requests being answered, by stream: deleted once answered.
    var answeringSpools: [Int: SpooledBody] = [:]
    /// Streamed answers under way, by stream: the status they are counted under when they end.
    var streamedAnswers: [Int: UInt] = [:]
    var context: ChannelHandlerContext?
    var needsFlush = false
    /// Between a read and its read-complete: responses written then are flushed at its end.
    var reading = false
    /// DATA frames without payload or END_STREAM this connection may send (CVE-2019-9518, an
    /// empty-frame flood costs the server a frame's work for nothing); more close it.
    let emptyDataFrameLimit: Int
    var emptyDataFrames = 0

    init(
        responder: any HTTPResponder, activity: ServerActivity, connectionWindowTarget: Int, streamWindowTarget: Int,
        idleTimeout: TimeAmount, requestTimeout: TimeAmount = .zero, emptyDataFrameLimit: Int = 200
    ) {
        self.emptyDataFrameLimit = emptyDataFrameLimit
        self.responder = responder
        self.activity = activity
        self.connectionWindowTarget = connectionWindowTarget
        self.streamWindowTarget = streamWindowTarget
        self.idle = IdleWatch(timeout: idleTimeout, requestTimeout: requestTimeout, metrics: activity.metrics)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idle.stop()
        for stream in streams.values { stream.spool?.discard() }
        streams.removeAll()
        self.context = nil
    }

    /// Forgets a stream still receiving (reset, closed or refused), deleting its spool file.
    func drop(_ id: HTTP2StreamID) {
        streams.removeValue(forKey: id)?.spool?.discard()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        idle.start(
            context: context, isIdle: { [unowned self] in self.streams.isEmpty && self.answering == 0 },
            // A refused stream still draining counts: a body trickled after an early 413 is
            // bounded by the request timeout like any other.
            oldestRequest: { [unowned self] in self.streams.values.lazy.map(\.started).min() })
        // On a connection not active yet (h2c, set up as it is accepted) NIO's handler has not
        // sent its preface: the window waits for channelActive (a frame before the preface is a
        // connection error).
        if context.channel.isActive { openConnectionWindow(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        openConnectionWindow(context: context)
        context.fireChannelActive()
    }

    /// Opens the connection window beyond the protocol's initial 65,535 bytes.
    func openConnectionWindow(context: ChannelHandlerContext) {
        guard connectionWindowTarget > 65_535 else { return }
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connectionWindowTarget - 65_535))),
            promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        idle.sawActivity()
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        switch frame.payload {
        case .headers(let headers):
            if let stream = streams[id] {
                // Trailers: checked, otherwise ignored, but they may end the request.
                var rules = RequestFieldRules(.trailers)
                for (name, value, _) in headers.headers where !rules.add(name: name, value: value) { break }
                guard rules.finish() else {
                    drop(id)
                    context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.protocolError))), promise: nil)
                    needsFlush = true
                    return
                }
                if headers.endStream && !stream.refused { dispatch(id, stream, context: context) }
                return
            }
            guard let stream = Self.streamState(headers.headers, responder: responder, requestTimeout: idle.requestTimeout) else {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.protocolError))), promise: nil)
                needsFlush = true
                return
            }
            if stream.refused {
                streams[id] = stream
                refuse(id, stream, context: context)
            } else if headers.endStream {
                dispatch(id, stream, context: context)
            } else {
                streams[id] = stream
            }
        case .data(let payload):
            guard streams[id] != nil, case .byteBuffer(var chunk) = payload.data else { return }
            if chunk.readableBytes == 0 && !payload.endStream {
                emptyDataFrames += 1
                if emptyDataFrames > emptyDataFrameLimit { return closeCalmly(context: context) }
            }
            // Taken out of the table while it grows, so the body buffer has one owner and each
            // chunk is appended in place (a copy left in the table made every append copy the
            // body so far); every path below puts it back or drops it.
            var stream = streams.removeValue(forKey: id)!
            if stream.refused {
                // A frame's header counts too: a drain of one-byte frames is work, not bytes.
                stream.discarded += chunk.readableBytes + 9
                if stream.discarded > stream.discardAllowance {
                    stream.spool?.discard()
                    context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.noError))), promise: nil)
                    needsFlush = true
                } else {
                    streams[id] = stream
                }
                return
            }
            if (stream.spool?.size ?? stream.body?.readableBytes ?? 0) + chunk.readableBytes > stream.limit {
                stream.refused = true
                streams[id] = stream
                refuse(id, stream, context: context)
                return
            }
            if let spool = stream.spool {
                if !spool.append(chunk) {
                    stream.refused = true
                    stream.refusal = .error(.spoolUnavailable)
                    streams[id] = stream
                    refuse(id, stream, context: context)
                    return
                }
            } else if stream.body == nil {
                stream.body = chunk
            } else {
                stream.body!.writeBuffer(&chunk)
            }
            streams[id] = stream
            if payload.endStream { dispatch(id, stream, context: context) }
        case .rstStream:
            drop(id)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIO's HTTP/2 handler has answered the violation (GOAWAY or RST_STREAM) already.
        HTTP2Violation.handle(error, context: context, metrics: activity.metrics)
    }

    /// GOAWAY(ENHANCE_YOUR_CALM), then close.
    func closeCalmly(context: ChannelHandlerContext) {
        activity.metrics.closedProtocolError.increment()
        for stream in streams.values { stream.spool?.discard() }
        streams.removeAll()
        let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .enhanceYourCalm, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let closed as StreamClosedEvent:
            if !streams.isEmpty { drop(closed.streamID) }
        case let window as NIOHTTP2WindowUpdatedEvent:
            guard let size = window.inboundWindowSize else { break }
            let target = window.streamID == .rootStream ? connectionWindowTarget : streamWindowTarget
            // Only streams still sending (or draining within their allowance) get more window.
            let open = window.streamID == .rootStream
                || streams[window.streamID].map { !$0.refused || $0.discarded <= $0.discardAllowance } ?? false
            if size <= target / 2 && size < target && open {
                context.write(
                    wrapOutboundOut(HTTP2Frame(streamID: window.streamID, payload: .windowUpdate(windowSizeIncrement: target - size))),
                    promise: nil)
                needsFlush = true
            }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Hands a complete request to the responder; nothing more is read for the stream.
    func dispatch(_ id: HTTP2StreamID, _ stream: StreamState, context: ChannelHandlerContext) {
        if !streams.isEmpty { streams.removeValue(forKey: id) }
        let spooled = stream.spool?.finish()
        if let spooled { answeringSpools[Int(Int32(id))] = spooled }
        let request = HTTPRequest(
            method: stream.method, uri: stream.uri, headers: RequestHeaders(stream.headers),
            body: stream.body ?? context.channel.allocator.buffer(capacity: 0), isHTTP2: true, spooled: spooled)
        activity.requestStarted()
        answering += 1
        responder.handle(request, writer: ResponseWriter(eventLoop: context.eventLoop, sink: self, stream: Int(Int32(id))))
    }

    /// ResponseSink: called on the event loop with a stream's answer.
    func write(_ response: HTTPResponse, stream: Int) {
        activity.requestFinished(status: response.status.code)
        answering -= 1
        if !answeringSpools.isEmpty { BodySpool.remove(answeringSpools.removeValue(forKey: stream)) }
        guard let context else { return }
        write(response, on: HTTP2StreamID(stream), context: context)
        if reading { needsFlush = true } else { context.flush() }
    }

    /// ResponseSink: a streamed answer's HEADERS; the stream counts as answering until it ends.
    func writeHead(_ response: HTTPResponse, stream: Int) {
        if !answeringSpools.isEmpty { BodySpool.remove(answeringSpools.removeValue(forKey: stream)) }
        streamedAnswers[stream] = response.status.code
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .headers(.init(headers: Self.responseHeaders(response, length: nil))))),
                              promise: nil)
    }

    /// ResponseSink: one DATA frame of a streamed answer, its promise kept until NIO's flow
    /// control has let it out (so a stream window the client does not open holds the writer).
    func writeChunk(_ chunk: ByteBuffer, stream: Int, promise: EventLoopPromise<Void>) {
        guard streamedAnswers[stream] != nil, let context else { return promise.fail(StreamedBody.NotTaken()) }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .data(.init(data: .byteBuffer(chunk))))),
                              promise: written)
        watchChunk(written.futureResult, promise: promise, timeout: idle.requestTimeout) { self.endStream(stream, complete: false) }
    }

    /// ResponseSink: ends a streamed answer with END_STREAM, or resets it.
    func endStream(_ stream: Int, complete: Bool) {
        guard let status = streamedAnswers.removeValue(forKey: stream) else { return }
        activity.requestFinished(status: status)
        answering -= 1
        guard let context else { return }
        let id = HTTP2StreamID(stream)
        let frame = complete
            ? HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(context.channel.allocator.buffer(capacity: 0)), endStream: true)))
            : HTTP2Frame(streamID: id, payload: .rstStream(.internalError))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    func refuse(_ id: HTTP2StreamID, _ stream: StreamState, context: ChannelHandlerContext) {
        if let spool = stream.spool {
            spool.discard()
            streams[id]?.spool = nil
        }
        write(stream.refusal ?? responder.bodyTooLarge(uri: stream.uri, limit: stream.limit), on: id, context: context)
        needsFlush = true
    }

    /// A response's HTTP/2 header block, with `length` as its content length (nil: none, a
    /// streamed answer).
    static func responseHeaders(_ response: HTTPResponse, length: Int?) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(response.headers.count + 2)
        headers.add(name: ":status", value: String(response.status.code))
        // Response header names are lower case throughout the console, as HTTP/2 requires.
        for (name, value) in response.headers where name != "content-length" && name != "connection" {
            headers.add(name: name, value: value)
        }
        if let length { headers.add(name: "content-length", value: String(length)) }
        return headers
    }

    func write(_ response: HTTPResponse, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        let headers = Self.responseHeaders(response, length: response.body.readableBytes)
        let hasBody = response.body.readableBytes > 0
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: !hasBody)))), promise: nil)
        if hasBody {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(response.body), endStream: true)))),
                          promise: nil)
        }
    }

    /// A new stream's state from its request headers (refused at once when its declared
    /// content length is over the limit), or nil if the block is malformed (RFC 9113 §8.2–8.3,
    /// checked here because NIO's own check is off in this mode).
    static func streamState(_ headers: HPACKHeaders, responder: any HTTPResponder, requestTimeout: TimeAmount) -> StreamState? {
        var rules = RequestFieldRules(.request)
        var method: String?
        var path: String?
        var length: Int?
        for (name, value, _) in headers {
            guard rules.add(name: name, value: value) else { return nil }
            switch name {
            case ":method": method = value
            case ":path": path = value
            case "content-length":
                // A declared length must be a number (NIO checks it against the DATA received).
                guard let declared = Int(value), declared >= 0 else { return nil }
                length = declared
            default: break
            }
        }
        guard rules.finish(), let method, let path else { return nil }
        let limit = responder.bodyLimit(uri: path)
        var stream = StreamState(
            method: HTTPMethod(rawValue: method), uri: path, headers: headers, body: nil, limit: limit, started: .now())
        if let length, length > limit {
            stream.refused = true
            return stream
        }
        switch responder.bodyIntake(uri: path, headers: RequestHeaders(headers)) {
        case .collect: break
        case .refuse(let response):
            stream.refused = true
            stream.refusal = response
        case .spool(let directory, let timeout, let lease):
            if let spool = BodySpool(directory: directory, lease: lease) {
                stream.spool = spool
                // The request timeout measures from `started`: an upload's longer allowance moves it on.
                stream.started = stream.started + .nanoseconds(max(Int64(timeout.milliseconds) * 1_000_000 - requestTimeout.nanoseconds, 0))
            } else {
                stream.refused = true
                stream.refusal = .error(.spoolUnavailable)
            }
        }
        return stream
    }
}
