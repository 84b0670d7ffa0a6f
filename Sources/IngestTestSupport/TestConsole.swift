import Foundation
import IngestAuth
import IngestConsole
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport
import IngestWorker
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A whole in-process console (gateway, worker, coordinator, TLS listener on a free port) over a
/// test database, with a manual clock, a sensor key, an admin key and HTTPS clients.
public final class TestConsole: Sendable {
    public let database: TestDatabase
    public let stack: ConsoleStack
    public let clock: ManualClock
    public let tls: TLSMaterial
    public let port: Int
    public let sensorKey: APIKey
    public let adminKey: APIKey
    let group: ServiceGroup
    let running: Task<Void, any Error>

    /// Starts a console; `configure` adjusts its configuration first.
    public static func start(
        _ label: String = "console", database existing: TestDatabase? = nil,
        configure: (inout ConsoleStack.Configuration) -> Void = { _ in }
    ) async throws -> TestConsole {
        let database: TestDatabase
        if let given = existing {
            database = given
        } else {
            database = try await TestDatabase.make(label)
        }
        var logger = Logger(label: "test-console")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let tls = try TLSMaterial.selfSigned(commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        var worker = WorkerConfiguration(memberID: "test-worker")
        worker.shardCount = 64
        worker.batchLinger = .milliseconds(1)
        var configuration = ConsoleStack.Configuration(worker: worker, tls: tls)
        configuration.listener.host = "127.0.0.1"
        configuration.listener.port = 0
        configure(&configuration)
        let catalog = CatalogStore(database: database.database, logger: logger)
        try await catalog.createCluster(shardCount: configuration.worker.shardCount)
        let signingKey = try await catalog.secret(named: "token_signing_key") { (0..<32).map { _ in UInt8.random(in: 0...255) } }
        let sensorKey = APIKey.generate()
        let adminKey = APIKey.generate()
        _ = try await catalog.insertAPIKey(role: "sensor", namespace: sensorKey.namespace, keyHash: sensorKey.hash, label: "test")
        _ = try await catalog.insertAPIKey(role: "admin", namespace: adminKey.namespace, keyHash: adminKey.hash, label: "test")
        let clock = ManualClock(Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)))
        let stack = try ConsoleStack(
            configuration: configuration, database: database.database, signingKey: signingKey, clock: clock, logger: logger)
        let port = try await stack.start()
        let group = ServiceGroup(configuration: .init(services: stack.services, logger: logger))
        let running = Task { try await group.run() }
        return TestConsole(database: database, stack: stack, clock: clock, tls: tls, port: port, sensorKey: sensorKey,
                           adminKey: adminKey, group: group, running: running)
    }

    /// Runs `body` against a new console, which is stopped (and its database dropped) however
    /// `body` ends.
    public static func with<T>(
        _ label: String, configure: (inout ConsoleStack.Configuration) -> Void = { _ in },
        _ body: (TestConsole) async throws -> T
    ) async throws -> T {
        let console = try await start(label, configure: configure)
        do {
            let result = try await body(console)
            await console.stop()
            return result
        } catch {
            await console.stop()
            throw error
        }
    }

    init(
        database: TestDatabase, stack: ConsoleStack, clock: ManualClock, tls: TLSMaterial, port: Int, sensorKey: APIKey,
        adminKey: APIKey, group: ServiceGroup, running: Task<Void, any Error>
    ) {
        self.database = database
        self.stack = stack
        self.clock = clock
        self.tls = tls
        self.port = port
        self.sensorKey = sensorKey
        self.adminKey = adminKey
        self.group = group
        self.running = running
    }

    /// Shuts the console down gracefully; with `dropDatabase`, drops its database too.
    public func stop(dropDatabase: Bool = true) async {
        await group.triggerGracefulShutdown()
        _ = await running.result
        if dropDatabase { await database.drop() }
    }

    /// A new HTTPS connection to the console, trusting its certificate.
    public func connect(http2: Bool = true) async throws -> HTTPClientConnection {
        try await HTTPClientConnection.connect(
            host: "127.0.0.1", port: port, tls: try tls.clientContext(alpn: http2 ? ["h2"] : ["http/1.1"]),
            serverName: "localhost", http2: http2)
    }

    /// Logs in with a key; returns the access and refresh tokens.
    public func login(_ key: APIKey, on connection: HTTPClientConnection) async throws -> (access: String, refresh: String) {
        let response = try await connection.request(
            .POST, "/deepfence/auth/token", headers: ["content-type": "application/json"],
            body: ByteBuffer(string: #"{"api_token":"\#(key.token)"}"#))
        guard response.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: String],
            let access = object["access_token"], let refresh = object["refresh_token"]
        else { throw TestDatabase.Unavailable(description: "login failed: \(response.status) \(response.text)") }
        return (access, refresh)
    }
}

extension HTTPClientConnection {
    /// POSTs a gzipped report with a bearer token.
    public func postReport(_ gzipped: [UInt8], token: String) async throws -> ClientResponse {
        try await request(
            .POST, "/deepfence/ingest/report",
            headers: ["authorization": "Bearer \(token)", "content-encoding": "gzip"], body: ByteBuffer(bytes: gzipped))
    }

    /// POSTs JSON with a bearer token.
    public func postJSON(_ path: String, _ json: String, token: String?) async throws -> ClientResponse {
        var headers: HTTPHeaders = ["content-type": "application/json"]
        if let token { headers.add(name: "authorization", value: "Bearer \(token)") }
        return try await request(.POST, path, headers: headers, body: ByteBuffer(string: json))
    }

    /// GETs with a bearer token.
    public func get(_ path: String, token: String?) async throws -> ClientResponse {
        var headers: HTTPHeaders = [:]
        if let token { headers.add(name: "authorization", value: "Bearer \(token)") }
        return try await request(.GET, path, headers: headers)
    }
}
