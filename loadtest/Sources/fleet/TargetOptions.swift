import ArgumentParser
import Foundation
import IngestTransport
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where the console is and how to log in.
struct TargetOptions: ParsableArguments {
    @Option(help: "The console's URL, https://host:port.") var url: String
    @Option(help: "The sensor API key (default: $DEEPFENCE_KEY, which keeps it out of ps).") var key: String?
    @Option(help: "A PEM CA certificate to verify the console with (default: no verification, as ThreatMapper sensors).")
    var ca: String?
    @Flag(help: "Use HTTP/1.1 instead of HTTP/2.") var http1 = false

    func session() async throws -> TargetSession {
        guard let components = URLComponents(string: url), components.scheme == "https", let host = components.host else {
            throw ValidationError("--url must look like https://host:port")
        }
        let pem = try ca.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let tls = try TLSMaterial.clientContext(trusting: pem, alpn: http1 ? ["http/1.1"] : ["h2"])
        let isAddress = host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        return TargetSession(host: host, port: components.port ?? 443, serverName: isAddress ? nil : host, tls: tls, http2: !http1, key: try Keys.sensor(key))
    }
}

/// A resolved target: connects and logs in.
struct TargetSession: Sendable {
    let host: String
    let port: Int
    let serverName: String?
    let tls: NIOSSLContext
    let http2: Bool
    let key: String

    /// The same target with another key.
    init(copying other: TargetSession, key: String) {
        self.init(host: other.host, port: other.port, serverName: other.serverName, tls: other.tls, http2: other.http2, key: key)
    }

    init(host: String, port: Int, serverName: String?, tls: NIOSSLContext, http2: Bool, key: String) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.tls = tls
        self.http2 = http2
        self.key = key
    }

    func connect() async throws -> HTTPClientConnection {
        try await HTTPClientConnection.connect(host: host, port: port, tls: tls, serverName: serverName, http2: http2)
    }

    /// Logs in once; returns the access token.
    func login() async throws -> String {
        let connection = try await connect()
        defer { Task { await connection.close() } }
        let response = try await connection.request(
            .POST, "/deepfence/auth/token", headers: ["content-type": "application/json"],
            body: ByteBuffer(string: #"{"api_token":"\#(key)"}"#))
        guard response.status == .ok,
            let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any],
            let token = object["access_token"] as? String
        else { throw ValidationError("login failed: \(response.status) \(response.text)") }
        return token
    }
}
