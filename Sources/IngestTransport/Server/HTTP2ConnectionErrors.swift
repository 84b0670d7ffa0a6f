import NIOCore
import NIOHTTP2

/// What a violation reported by NIO's HTTP/2 handler does to the connection.
///
/// NIO answers a connection error with GOAWAY and a stream error with RST_STREAM, then reports
/// the error down the pipeline, but it leaves the TCP connection open. RFC 9113 §5.4.1 has the
/// endpoint close it after a GOAWAY for an error; a peer that floods resets, CONTINUATION or
/// SETTINGS frames would otherwise keep its socket (and its TLS buffers) until the idle timeout.
/// Stream errors end one request only: the sensor's other streams on the connection go on.
enum HTTP2Violation {
    case stream
    case connection

    init(_ error: any Error) {
        switch error {
        // The multiplexer's report of a stream reset, and what NIO raises per stream: bad or
        // misplaced header fields, a wrong content-length, frames on a closed stream.
        case is NIOHTTP2Errors.StreamError,
             is NIOHTTP2Errors.StreamClosed,
             is NIOHTTP2Errors.NoSuchStream,
             is NIOHTTP2Errors.BadStreamStateTransition,
             is NIOHTTP2Errors.MissingPseudoHeader,
             is NIOHTTP2Errors.DuplicatePseudoHeader,
             is NIOHTTP2Errors.PseudoHeaderAfterRegularHeader,
             is NIOHTTP2Errors.UnknownPseudoHeader,
             is NIOHTTP2Errors.UnsupportedPseudoHeader,
             is NIOHTTP2Errors.InvalidPseudoHeaders,
             is NIOHTTP2Errors.InvalidPseudoHeaderValue,
             is NIOHTTP2Errors.MissingHostHeader,
             is NIOHTTP2Errors.DuplicateHostHeader,
             is NIOHTTP2Errors.EmptyPathHeader,
             is NIOHTTP2Errors.InvalidStatusValue,
             is NIOHTTP2Errors.InvalidHTTP2HeaderFieldName,
             is NIOHTTP2Errors.InvalidHTTP2HeaderFieldValue,
             is NIOHTTP2Errors.ForbiddenHeaderField,
             is NIOHTTP2Errors.TrailersWithoutEndStream,
             is NIOHTTP2Errors.ContentLengthViolated,
             is NIOHTTP2Errors.ContentLengthHeadersMismatch,
             is NIOHTTP2Errors.ContentLengthHeaderNegative,
             is NIOHTTP2Errors.ContentLengthHeaderMalformedValue:
            self = .stream
        default:
            self = .connection
        }
    }
}

extension HTTP2Violation {
    /// Counts an error NIO's HTTP/2 handler reported and, for a connection error, flushes the
    /// GOAWAY NIO wrote and closes the connection (both HTTP/2 modes).
    static func handle(_ error: any Error, context: ChannelHandlerContext, metrics: ServerMetrics) {
        metrics.http2Error(error)
        guard HTTP2Violation(error) == .connection else { return }
        metrics.closedProtocolError.increment()
        context.flush()
        context.close(promise: nil)
    }
}

/// Closes an HTTP/2 connection (multiplexed mode) once NIO reported a connection error.
/// Sits after the stream multiplexer.
final class HTTP2ViolationCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    let metrics: ServerMetrics

    init(metrics: ServerMetrics) { self.metrics = metrics }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        HTTP2Violation.handle(error, context: context, metrics: metrics)
    }
}
