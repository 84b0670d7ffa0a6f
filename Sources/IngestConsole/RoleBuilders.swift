import IngestAuth
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport
import Logging

/// The public listener of all-in-one and of a gateway: what it is configured with, and the one
/// way both build their server from it.
public struct PublicListenerConfiguration: Sendable {
    /// Address and port (0 picks a free port).
    public var host = "0.0.0.0"
    public var port = 443
    public var maxConcurrentStreams = 100
    public var idleTimeout: Duration = .seconds(300)
    /// How often given certificate files are checked for a new pair (`--tls-reload-interval`).
    public var tlsReloadInterval: Duration = .seconds(30)
    /// What one client may hold or send.
    public var limits = HTTPServer.Limits()
    public var http2Mode: HTTPServer.HTTP2Mode = .frames

    public init() {}

    /// The server's configuration: it serves the certificate `files` (watched for a new pair)
    /// when given, else `tls`, fixed.
    public func serverConfiguration(tls: TLSMaterial, files: (certificate: String, key: String)?) throws -> HTTPServer.Configuration {
        var configuration = HTTPServer.Configuration(
            host: host, port: port, tls: nil, maxConcurrentStreams: maxConcurrentStreams, idleTimeout: idleTimeout)
        configuration.tls = try files.map { try TLSContextSource(certificateFile: $0.certificate, keyFile: $0.key) }
            ?? TLSContextSource(fixed: try tls.serverContext())
        configuration.tlsReloadInterval = tlsReloadInterval
        configuration.limits = limits
        configuration.http2Mode = http2Mode
        return configuration
    }
}

/// Token lifetimes (all-in-one and gateway), and the authenticator both build from them.
public struct TokenConfiguration: Sendable {
    public var accessTokenLifetime: Duration = .seconds(1800)
    public var refreshTokenLifetime: Duration = .seconds(26 * 3600)
    /// How long a web console session lasts from its sign-in (`--web-session-lifetime`).
    public var webSessionLifetime: Duration = .seconds(12 * 3600)

    public init() {}

    /// Verifies tokens signed with `signingKey` and API keys from `catalog`, with the key rate
    /// limit of `gateway`.
    public func authenticator(signingKey: [UInt8], gateway: GatewayConfiguration, catalog: CatalogStore, logger: Logger) -> Authenticator {
        Authenticator(
            signer: TokenSigner(key: signingKey, accessLifetime: accessTokenLifetime, refreshLifetime: refreshTokenLifetime),
            catalog: catalog, logger: logger, keyRate: KeyRateLimiter(rate: gateway.keyRateLimit, burst: gateway.keyRateBurst))
    }
}
