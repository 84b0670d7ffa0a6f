import Foundation
import IngestTransport
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where the fleet connects, and how.
public struct FleetTarget: Sendable {
    public let host: String
    public let port: Int
    public let serverName: String?
    public let tls: NIOSSLContext
    public let http2: Bool
    /// The URL as given.
    public let url: String

    /// `https://host:port`; `caPEM` verifies the console (nil: no verification, as sensors).
    public init(url: String, caPEM: String?, http2: Bool) throws {
        guard let components = URLComponents(string: url), components.scheme == "https", let host = components.host else {
            throw FleetError("the console URL must look like https://host:port, not \(url)")
        }
        self.url = url
        self.host = host
        self.port = components.port ?? 443
        let isAddress = host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        self.serverName = isAddress ? nil : host
        self.tls = try TLSMaterial.clientContext(trusting: caPEM, alpn: http2 ? ["h2"] : ["http/1.1"])
        self.http2 = http2
    }

    public func connect() async throws -> HTTPClientConnection {
        try await HTTPClientConnection.connect(host: host, port: port, tls: tls, serverName: serverName, http2: http2)
    }
}

/// A failure of the load-test tool itself, reported in one line.
public struct FleetError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One connection shared by a group of sensors (one sensor by default), connected on first use
/// and again after it breaks.
actor SensorConnection {
    let target: FleetTarget
    var connection: HTTPClientConnection?

    init(target: FleetTarget) { self.target = target }

    func get() async throws -> HTTPClientConnection {
        if let connection, connection.isActive { return connection }
        let fresh = try await target.connect()
        connection = fresh
        return fresh
    }

    /// Drops a connection that failed, so the next request connects anew.
    func discard(_ failed: HTTPClientConnection) async {
        if connection === failed { connection = nil }
        await failed.close()
    }

    func close() async {
        if let connection { await connection.close() }
        connection = nil
    }
}
