import Foundation
import IngestCore
import PostgresNIO

/// Where a PostgreSQL database is and how to log in, parsed from a URL:
/// `postgres://user[:password]@host[:port]/database[?sslmode=…][&sslrootcert=/path/ca.crt]`, or a
/// Unix socket with `postgres://user@/database?host=/path/to/socket-directory[&port=5432]`.
///
/// TLS: `disable`; `prefer` (the default: TLS when the server offers it) and `require` verify
/// the server's certificate and host name like `verify-full`; `verify-ca` checks the chain but
/// not the host name. The chain is checked against `sslrootcert` (a PEM file, such as the CA of
/// a CloudNativePG cluster) when given, else the system's roots. Unlike libpq, `require` never
/// accepts an unverified certificate.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// The directory holding the server's Unix socket, when connecting through one.
    public var socketDirectory: String?
    /// `sslrootcert`: a PEM file of the certificate authorities the server's chain must lead to.
    public var rootCertificate: String?

    public init(
        host: String = "127.0.0.1", port: Int = 5432, username: String, password: String? = nil, database: String,
        tls: TLSMode = .prefer, socketDirectory: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.socketDirectory = socketDirectory
    }

    /// Parses a `postgres://` or `postgresql://` URL.
    public init(parsing text: String) throws(IngestError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw IngestError.invalidRequest("the database URL must look like postgres://user:password@host:port/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw IngestError.invalidRequest("the database URL names no database") }
        guard let user = components.user, !user.isEmpty else {
            throw IngestError.invalidRequest("the database URL names no user")
        }
        let tls: TLSMode
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer
        case "require": tls = .require
        case "verify-ca": tls = .verifyCA
        case "verify-full": tls = .verifyFull
        case let other: throw IngestError.invalidRequest("unsupported sslmode '\(other)' in the database URL")
        }
        let socket = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        self.init(
            host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            port: components.port ?? Int(query["port"] ?? "") ?? 5432,
            username: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 },
            database: database.removingPercentEncoding ?? database,
            tls: tls,
            socketDirectory: socket)
        rootCertificate = query["sslrootcert"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `text` with `password` filled in when it names none (`--database-password-file`); text
    /// that does not parse as a URL is returned as it is, for the parser to explain.
    public static func text(_ text: String, withPassword password: String?) -> String {
        guard let password, var components = URLComponents(string: text), components.password == nil, components.user != nil else {
            return text
        }
        components.password = password
        return components.string ?? text
    }

    /// This URL pointing at another database of the same server.
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL with the password masked, safe to log.
    public var description: String {
        let credentials = password == nil ? username : "\(username):***"
        if let socketDirectory { return "postgres://\(credentials)@/\(database)?host=\(socketDirectory)&port=\(port)" }
        let root = rootCertificate.map { "&sslrootcert=\($0)" } ?? ""
        return "postgres://\(credentials)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)\(root)"
    }

    /// The PostgresNIO client configuration for this URL.
    public func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = .init(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password,
                database: database)
        } else {
            var verification = TLSConfiguration.makeClientConfiguration()
            if let rootCertificate { verification.trustRoots = .file(rootCertificate) }
            if tls == .verifyCA { verification.certificateVerification = .noHostnameVerification }
            let tlsConfiguration: PostgresClient.Configuration.TLS
            switch tls {
            case .disable: tlsConfiguration = .disable
            case .prefer: tlsConfiguration = .prefer(verification)
            case .require, .verifyCA, .verifyFull: tlsConfiguration = .require(verification)
            }
            configuration = .init(
                host: host, port: port, username: username, password: password, database: database, tls: tlsConfiguration)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = 0
        // A member paused or cut off in the middle of a transaction (SIGSTOP, a partition) would
        // hold its row locks, among them the FOR SHARE locks on `shard_epochs` that fencing
        // takes, and block the new owner's claim for as long as it is away. The server ends
        // such a session after this long idle inside a transaction, releasing them; no console
        // transaction waits on its client between statements for anywhere near this long.
        configuration.options.additionalStartupParameters = [("idle_in_transaction_session_timeout", "5s")]
        return configuration
    }
}
