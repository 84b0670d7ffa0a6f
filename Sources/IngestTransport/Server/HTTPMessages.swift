import NIOCore
import NIOHPACK
import NIOHTTP1

/// A complete request, as the server hands it to its responder.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query string.
    public var path: Substring
    /// The query string (after `?`), if any.
    public var query: Substring?
    public var headers: RequestHeaders
    public var body: ByteBuffer
    /// The body, when the responder had it written to a file (``BodyIntake/spool(directory:)``);
    /// `body` is empty then.
    public var spooled: SpooledBody?
    /// Whether the request came over HTTP/2.
    public var isHTTP2: Bool

    public init(method: HTTPMethod, uri: String, headers: RequestHeaders, body: ByteBuffer, isHTTP2: Bool, spooled: SpooledBody? = nil) {
        self.spooled = spooled
        self.method = method
        if let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = uri[..<mark]
            query = uri[uri.utf8.index(after: mark)...]
        } else {
            path = Substring(uri)
            query = nil
        }
        self.headers = headers
        self.body = body
        self.isHTTP2 = isHTTP2
    }

    /// The value of a query parameter (percent-decoding `+` and `%XX`), if present.
    public func queryParameter(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first.map(String.init)?.removingFormEncoding == name {
                return parts.count > 1 ? String(parts[1]).removingFormEncoding : ""
            }
        }
        return nil
    }
}

/// A request's headers as its protocol delivered them (no conversion between HTTP/1 and HPACK
/// header lists on the hot path). Names are looked up case-insensitively.
public struct RequestHeaders: Sendable {
    enum Storage: Sendable {
        case http1(HTTPHeaders)
        case http2(HPACKHeaders)
    }

    let storage: Storage

    public init(_ headers: HTTPHeaders) { storage = .http1(headers) }
    public init(_ headers: HPACKHeaders) { storage = .http2(headers) }

    /// The first value of the header `name`.
    public func first(name: String) -> String? {
        switch storage {
        case .http1(let headers): headers.first(name: name)
        case .http2(let headers): headers.first(name: name)
        }
    }
}

extension String {
    /// The string with `+` as space and `%XX` escapes decoded (invalid escapes kept as they are).
    var removingFormEncoding: String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A response to write.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ status: HTTPResponseStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["content-type": "application/json"], body: ByteBuffer(string: text))
    }

    /// `200 pong`, the health check's answer (built once).
    public static let pong = HTTPResponse.text(.ok, "pong")

    /// A plain-text response.
    public static func text(_ status: HTTPResponseStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["content-type": "text/plain; charset=utf-8"], body: ByteBuffer(string: text))
    }
}

/// Completes one request: call ``respond(_:)`` exactly once, from any thread.
public struct ResponseWriter: Sendable {
    let eventLoop: any EventLoop
    let sink: any ResponseSink
    let stream: Int
    var observers: [@Sendable (HTTPResponseStatus) -> Void] = []

    init(eventLoop: any EventLoop, sink: any ResponseSink, stream: Int) {
        self.eventLoop = eventLoop
        self.sink = sink
        self.stream = stream
    }

    /// The event loop of the request's channel.
    public var loop: any EventLoop { eventLoop }

    /// The same writer, calling `observe` with the status of the response it sends (for
    /// counting responses by route).
    public func observed(_ observe: @escaping @Sendable (HTTPResponseStatus) -> Void) -> ResponseWriter {
        var writer = self
        writer.observers.append(observe)
        return writer
    }

    /// Sends the response (hopping to the channel's event loop if needed).
    public func respond(_ response: HTTPResponse) {
        for observe in observers { observe(response.status) }
        if eventLoop.inEventLoop {
            sink.write(response, stream: stream)
        } else {
            let sink = self.sink
            let stream = self.stream
            eventLoop.execute { sink.write(response, stream: stream) }
        }
    }
}

extension ResponseWriter {
    /// Starts a streamed answer instead of ``respond(_:)``: sends `head`'s status and headers now
    /// (without a content length; its body is ignored) and returns the body to write. Call
    /// ``StreamedBody/finish()`` or ``StreamedBody/abort()`` exactly once at the end.
    public func stream(_ head: HTTPResponse) -> StreamedBody {
        for observe in observers { observe(head.status) }
        let sink = self.sink
        let stream = self.stream
        eventLoop.execute { sink.writeHead(head, stream: stream) }
        return StreamedBody(eventLoop: eventLoop, sink: sink, stream: stream)
    }
}

/// The body of a streamed answer (``ResponseWriter/stream(_:)``), written chunk by chunk. Each
/// ``write(_:)`` returns once the connection has taken the chunk, so a slow reader slows the
/// writer rather than the body piling up in memory; a chunk not taken within the server's
/// `--request-timeout` (a reader that stopped reading) fails the write and resets the answer.
/// A body that cannot be completed ends with ``abort()``: the client sees a reset stream (HTTP/2)
/// or a connection closed before the last chunk (HTTP/1.1), never a short body passing for whole.
public struct StreamedBody: Sendable {
    let eventLoop: any EventLoop
    let sink: any ResponseSink
    let stream: Int

    /// The chunk was not taken: the client went away, reset the stream or stopped reading.
    public struct NotTaken: Error {}

    /// Writes and flushes `chunk`; throws ``NotTaken`` when the client does not take it.
    public func write(_ chunk: ByteBuffer) async throws {
        let promise = eventLoop.makePromise(of: Void.self)
        let sink = self.sink
        let stream = self.stream
        eventLoop.execute { sink.writeChunk(chunk, stream: stream, promise: promise) }
        do {
            try await promise.futureResult.get()
        } catch {
            throw NotTaken()
        }
    }

    /// Ends the body: the answer is complete.
    public func finish() { end(complete: true) }

    /// Ends the answer as incomplete.
    public func abort() { end(complete: false) }

    func end(complete: Bool) {
        let sink = self.sink
        let stream = self.stream
        eventLoop.execute { sink.endStream(stream, complete: complete) }
    }
}

/// Where a ``ResponseWriter`` delivers: the handler that read the request. Implementations are
/// event-loop bound; ``ResponseWriter`` and ``StreamedBody`` only call them on their loop.
protocol ResponseSink: AnyObject, Sendable {
    func write(_ response: HTTPResponse, stream: Int)
    /// A streamed answer's status and headers (the answer stays open).
    func writeHead(_ response: HTTPResponse, stream: Int)
    /// One chunk of a streamed answer; `promise` completes when the connection took it, or fails
    /// (the stream gone, or the chunk not taken within the request timeout).
    func writeChunk(_ chunk: ByteBuffer, stream: Int, promise: EventLoopPromise<Void>)
    /// The end of a streamed answer: complete, or reset.
    func endStream(_ stream: Int, complete: Bool)
}

/// Bounds how long a streamed answer's chunk may wait for the connection to take it: past
/// `timeout` (zero: no bound) `promise` fails and `onStall` runs. Called on the event loop.
func watchChunk(
    _ written: EventLoopFuture<Void>, promise: EventLoopPromise<Void>, timeout: TimeAmount, onStall: @escaping @Sendable () -> Void
) {
    guard timeout > .zero else { return written.cascade(to: promise) }
    let loop = written.eventLoop
    let settled = NIOLoopBoundBox(false, eventLoop: loop)
    let stall = loop.scheduleTask(in: timeout) {
        guard !settled.value else { return }
        settled.value = true
        promise.fail(StreamedBody.NotTaken())
        onStall()
    }
    written.whenComplete { result in
        guard !settled.value else { return }
        settled.value = true
        stall.cancel()
        promise.completeWith(result)
    }
}

/// What the server calls for each request.
public protocol HTTPResponder: Sendable {
    /// The largest body accepted for a request to `uri`. Larger bodies are refused with
    /// ``bodyTooLarge(uri:limit:)`` as soon as the limit is passed, before they are read whole.
    func bodyLimit(uri: String) -> Int
    /// The response to a body over the limit.
    func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse
    /// How the body of a request with this head is taken (default: collected in memory).
    func bodyIntake(uri: String, headers: RequestHeaders) -> BodyIntake
    /// Handles a complete request; called on the channel's event loop.
    func handle(_ request: HTTPRequest, writer: ResponseWriter)
}

extension HTTPResponder {
    public func bodyIntake(uri: String, headers: RequestHeaders) -> BodyIntake { .collect }
}
