import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Sends HTTP/2 requests as frames on the connection's channel and collects their responses,
/// without a child channel and an HTTP/1 codec per stream (the client side of the server's
/// ``HTTP2FrameHandler``): NIO's stream multiplexer spent most of a small request's cost on
/// creating and tearing those down, and a fleet sends mostly small requests.
///
/// `NIOHTTP2Handler` (without a multiplexer) below it checks the frames, buffers streams past
/// the server's concurrency limit and DATA past its windows. Receive windows are kept here: the
/// connection's is widened to 4 MiB when it opens and returned after every 1 MiB read, a
/// stream's (1 MiB, offered in SETTINGS) after every 512 KiB. Used only on its channel's event loop.
final class HTTP2ClientStreams: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    struct Pending {
        let promise: EventLoopPromise<ClientResponse>
        var status: HTTPResponseStatus?
        var headers = HTTPHeaders()
        var body: ByteBuffer?
        /// DATA bytes read and not yet returned to the stream's window.
        var unreturned = 0
    }

    let authority: String
    let scheme: String
    var context: ChannelHandlerContext?
    var nextStreamID = HTTP2StreamID(1)
    var pending: [HTTP2StreamID: Pending] = [:]
    /// DATA bytes read on any stream and not yet returned to the connection's window.
    var unreturned = 0
    /// Set once the connection failed or closed: new requests fail at once.
    var failure: (any Error)?

    static let connectionWindow = 4 << 20
    static let connectionReturn = 1 << 20
    static let streamReturn = 512 << 10
    /// Headers HTTP/2 does not carry (RFC 9113 §8.2.2); `host` becomes `:authority`.
    static let dropped: Set<String> = ["host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]

    init(authority: String, tls: Bool) {
        self.authority = authority
        self.scheme = tls ? "https" : "http"
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        // The connection's receive window starts at 64 KiB whatever SETTINGS say: widen it.
        let increment = Self.connectionWindow - 65_535
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        context.fireChannelActive()
    }

    /// Sends a request; `promise` completes with its whole response. On the event loop only.
    func send(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders, body: ByteBuffer?, promise: EventLoopPromise<ClientResponse>) {
        guard let context, failure == nil else {
            promise.fail(failure ?? ChannelError.ioOnClosedChannel)
            return
        }
        var block = HPACKHeaders()
        block.reserveCapacity(headers.count + 4)
        block.add(name: ":method", value: method.rawValue)
        block.add(name: ":scheme", value: scheme)
        block.add(name: ":authority", value: authority)
        block.add(name: ":path", value: path)
        for (name, value) in headers {
            let lowered = name.lowercased()
            if !Self.dropped.contains(lowered) { block.add(name: lowered, value: value) }
        }
        let id = nextStreamID
        nextStreamID = HTTP2StreamID(Int32(Int(id) + 2))
        pending[id] = Pending(promise: promise)
        let hasBody = (body?.readableBytes ?? 0) > 0
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: block, endStream: !hasBody)))), promise: nil)
        if hasBody, let body {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: true)))), promise: nil)
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        switch frame.payload {
        case .headers(let headers):
            guard var stream = pending[id] else { return }
            if stream.status == nil {
                guard let code = headers.headers.first(name: ":status").flatMap(Int.init) else {
                    return fail(id, HTTP2ClientError.malformedResponse)
                }
                // An interim answer (100 Continue, 103 Early Hints) is followed by the real one.
                if (100..<200).contains(code) && code != 101 { return }
                stream.status = HTTPResponseStatus(statusCode: code)
                for (name, value, _) in headers.headers where !name.hasPrefix(":") { stream.headers.add(name: name, value: value) }
            }
            pending[id] = stream
            if headers.endStream { finish(id) }
        case .data(let payload):
            guard case .byteBuffer(var chunk) = payload.data else { return }
            let length = chunk.readableBytes
            returnWindow(.rootStream, &unreturned, adding: length, at: Self.connectionReturn, context: context)
            guard pending[id] != nil else { return }
            // Appended in place: a copy of the entry taken out and put back would share the body's
            // storage with the table, and every append would copy the body so far.
            if pending[id]!.body == nil { pending[id]!.body = chunk } else { pending[id]!.body!.writeBuffer(&chunk) }
            if payload.endStream {
                finish(id)
            } else {
                returnWindow(id, &pending[id]!.unreturned, adding: length, at: Self.streamReturn, context: context)
            }
        case .rstStream(let code):
            fail(id, HTTP2ClientError.streamReset(code))
        case .goAway(let lastStreamID, let code, _):
            // Streams above the last one the server processed were not answered and never will be.
            for stream in pending.keys where stream > lastStreamID { fail(stream, HTTP2ClientError.goAway(code)) }
            failure = HTTP2ClientError.goAway(code)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ChannelError.eof)
        context.fireChannelInactive()
    }

    /// Adds `length` read bytes to `count` and, past `threshold`, gives them back to the window
    /// of `stream` (the connection's for the root stream).
    func returnWindow(_ stream: HTTP2StreamID, _ count: inout Int, adding length: Int, at threshold: Int, context: ChannelHandlerContext) {
        count += length
        guard count >= threshold else { return }
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: stream, payload: .windowUpdate(windowSizeIncrement: count))), promise: nil)
        count = 0
    }

    func finish(_ id: HTTP2StreamID) {
        guard let stream = pending.removeValue(forKey: id) else { return }
        guard let status = stream.status else { return stream.promise.fail(HTTP2ClientError.malformedResponse) }
        stream.promise.succeed(ClientResponse(status: status, headers: stream.headers, body: stream.body ?? ByteBuffer()))
    }

    func fail(_ id: HTTP2StreamID, _ error: any Error) {
        pending.removeValue(forKey: id)?.promise.fail(error)
    }

    func failAll(_ error: any Error) {
        if failure == nil { failure = error }
        let streams = pending
        pending = [:]
        for stream in streams.values { stream.promise.fail(error) }
    }
}

/// How an HTTP/2 request failed on the server's side.
public enum HTTP2ClientError: Error, Sendable {
    /// The server reset the stream.
    case streamReset(HTTP2ErrorCode)
    /// The server is closing the connection and did not process the request.
    case goAway(HTTP2ErrorCode)
    /// The response had no valid `:status`, or ended before one.
    case malformedResponse
}
