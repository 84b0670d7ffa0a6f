@testable import IngestTransport
import Logging
import NIOCore
import NIOPosix
import Testing

/// The internal transport's plaintext mode (`--internal-plaintext`): HTTP/2 with prior
/// knowledge, no TLS, served from frames and spoken by the client.
struct PlaintextHTTP2Tests {
    struct Echo: HTTPResponder {
        func bodyLimit(uri: String) -> Int { 1 << 20 }
        func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse { HTTPResponse(status: .payloadTooLarge) }
        func handle(_ request: HTTPRequest, writer: ResponseWriter) {
            writer.respond(.text(.ok, "\(request.isHTTP2 ? "h2" : "http/1.1") \(request.body.readableBytes)"))
        }
    }

    @Test func h2cServesManyStreamsOnOneConnection() async throws {
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, tls: nil)
        configuration.plaintextHTTP2 = true
        let server = HTTPServer(configuration: configuration, responder: Echo(), group: MultiThreadedEventLoopGroup.singleton,
                                logger: Logger(label: "test"))
        let port = try await server.bind()
        let connection = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, serverName: nil, http2: true)
        #expect(connection.isHTTP2)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for size in 0..<50 {
                group.addTask {
                    try await connection.request(.POST, "/x", body: ByteBuffer(repeating: 1, count: size * 100)).text
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(answers) == Set((0..<50).map { "h2 \($0 * 100)" }))
        await connection.close()
        try await server.channel.withLock { $0 }?.close()
    }
}
