import Foundation
import IngestCore
import IngestStorage
import IngestTestSupport
import IngestTransport
import LoadTestRunner
import Logging
import NIOCore
import Testing

/// A cluster of real `console` processes on loopback for the tests: the catalog and placement
/// "a" on the test PostgreSQL server, placement "b" on a second server of its own (which the
/// test can stop and start), coordinators, workers and gateways started, signalled and killed
/// for real.
final class ClusterHarness: @unchecked Sendable {
    struct Member {
        var arguments: [String]
        var process: ChildProcess
        var metricsPort: Int
        var port: Int?
    }

    let binary: String
    let directory: String
    let catalog: TestDatabase
    let placementA: TestDatabase
    let secondServer: EmbeddedPostgres
    let placementB: Database
    let placementBPool: Task<Void, any Error>
    let placementBURL: DatabaseURL
    let shardCount: Int
    var sensorKey = ""
    var adminKey = ""
    private(set) var members: [String: Member] = [:]
    let logger: Logger

    /// The release build when the test script made one (a cluster under load in a debug build
    /// measures the debug build), else the debug one.
    static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["TEST_CONSOLE_RELEASE_BINARY"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return try ConsoleProcessTests.binary()
    }

    init(shardCount: Int) async throws {
        // The fleet holds a connection per sensor, and the servers this process starts inherit
        // its limit: raise the soft limit to the hard one.
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        var logger = Logger(label: "cluster-test")
        logger.logLevel = .warning
        self.logger = logger
        self.shardCount = shardCount
        binary = try Self.binary()
        directory = "/tmp/console-cluster-test-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        catalog = try await TestDatabase.make("catalog", connections: 4)
        placementA = try await TestDatabase.make("placement_a", connections: 4)
        secondServer = try EmbeddedPostgres(
            dataDirectory: URL(fileURLWithPath: directory + "/second-server"),
            settings: [("fsync", "off"), ("synchronous_commit", "off"), ("max_connections", "200")], logger: logger)
        try secondServer.start()
        try await Database.createIfMissing("placement_b", server: secondServer.url(database: "postgres"), logger: logger)
        placementBURL = secondServer.url(database: "placement_b")
        placementB = Database(url: placementBURL, maximumConnections: 4, logger: logger)
        let database = placementB
        placementBPool = Task { try await database.run() }
    }

    /// Stops every process, the second server, and drops the test databases.
    func stop() async {
        for member in members.values { member.process.signal(SIGKILL) }
        for member in members.values { _ = await member.process.wait(timeout: .seconds(5)) }
        placementBPool.cancel()
        let pool = placementBPool
        _ = try? await withDeadline(.seconds(20)) { _ = await pool.result }  // bounded: see TestDatabase.drop
        secondServer.stop()
        await catalog.drop()
        await placementA.drop()
    }

    var catalogURL: String { catalog.url.description }

    /// `console migrate` with both placements: creates the cluster and the first keys.
    func create() async throws {
        let output = directory + "/migrate.log"
        let process = try ChildProcess(executable: binary, arguments: [
            "migrate", "--database-url", catalogURL, "--shard-count", String(shardCount),
            "--placement", "a=\(placementA.url.description)", "--placement", "b=\(placementBURL.description)",
        ], outputPath: output)
        let status = await process.wait(timeout: .seconds(60))
        guard ChildProcess.exitedCleanly(status) else { throw ClusterTestFailure("migrate failed: \(process.output)") }
        sensorKey = ConsoleProcessTests.bannerValue(process.output, "Sensor API key:") ?? ""
        adminKey = ConsoleProcessTests.bannerValue(process.output, "Admin API key:") ?? ""
        guard !sensorKey.isEmpty, !adminKey.isEmpty else { throw ClusterTestFailure("migrate printed no keys: \(process.output)") }
    }

    /// Starts `console` with `arguments`, without CAP_NET_ADMIN (as a container that drops every
    /// capability runs it), so the public and the internal listeners are tested as deployed.
    func spawn(_ arguments: [String], log: String) throws -> ChildProcess {
        let command = WithoutNetAdmin.command(binary, arguments)
        return try ChildProcess(executable: command.executable, arguments: command.arguments, outputPath: log)
    }

    func launch(_ name: String, _ arguments: [String], metricsPort: Int, port: Int? = nil) throws {
        let process = try spawn(arguments, log: "\(directory)/\(name).log")
        members[name] = Member(arguments: arguments, process: process, metricsPort: metricsPort, port: port)
    }

    func startCoordinator(_ name: String, beatRate: Int) throws {
        let metrics = try ConsoleProcessTests.freePort()
        try launch(name, [
            "coordinator", "--database-url", catalogURL, "--id", name, "--metrics-address", "127.0.0.1:\(metrics)",
            "--beat-rate", String(beatRate),
        ], metricsPort: metrics)
    }

    func startWorker(_ name: String, beatRate: Int) throws {
        let (port, metrics) = (try ConsoleProcessTests.freePort(), try ConsoleProcessTests.freePort())
        try launch(name, [
            "worker", "--database-url", catalogURL, "--id", name, "--internal-host", "127.0.0.1", "--internal-port", String(port),
            "--advertise-address", "127.0.0.1:\(port)", "--metrics-address", "127.0.0.1:\(metrics)", "--beat-rate", String(beatRate),
            "--write-lanes", "2", "--findings-lanes", "1", "--database-connections", "7",
        ], metricsPort: metrics)
    }

    func startGateway(_ name: String) throws {
        let (port, metrics) = (try ConsoleProcessTests.freePort(), try ConsoleProcessTests.freePort())
        try launch(name, [
            "gateway", "--database-url", catalogURL, "--id", name, "--host", "127.0.0.1", "--port", String(port),
            "--advertise-host", "127.0.0.1", "--metrics-address", "127.0.0.1:\(metrics)",
        ], metricsPort: metrics, port: port)
    }

    /// Starts `name` again with the arguments it had (a restart with the same ID).
    func restart(_ name: String) throws {
        guard let member = members[name] else { return }
        let process = try spawn(member.arguments, log: "\(directory)/\(name).\(UInt8.random(in: 0...255)).log")
        members[name]!.process = process
    }

    func process(_ name: String) -> ChildProcess { members[name]!.process }

    func gatewayURL(_ name: String) -> String { "https://127.0.0.1:\(members[name]!.port!)" }

    /// Whether `/readyz` of a member answers 200.
    func isReady(_ name: String) async -> Bool {
        guard let member = members[name], member.process.poll() == nil else { return false }
        guard let connection = try? await HTTPClientConnection.connect(
            host: "127.0.0.1", port: member.metricsPort, tls: nil, serverName: nil, http2: false, connectTimeout: .seconds(1))
        else { return false }
        defer { Task { await connection.close() } }
        return (try? await connection.request(.GET, "/readyz"))?.status == .ok
    }

    /// `console apikey …` against the catalog; its output.
    func apikey(_ arguments: [String]) async throws -> String {
        let process = try ChildProcess(executable: binary, arguments: ["apikey"] + arguments + ["--database-url", catalogURL],
                                       outputPath: "\(directory)/apikey.log")
        guard ChildProcess.exitedCleanly(await process.wait(timeout: .seconds(30))) else {
            throw ClusterTestFailure("console apikey \(arguments) failed: \(process.output)")
        }
        return process.output
    }

    /// An HTTP/2 connection to a gateway (its certificate not verified, as sensors do).
    func connect(_ gateway: String) async throws -> HTTPClientConnection {
        try await HTTPClientConnection.connect(
            host: "127.0.0.1", port: try #require(members[gateway]?.port), tls: try TLSMaterial.clientContext(trusting: nil),
            serverName: nil, http2: true, connectTimeout: .seconds(2))
    }

    /// The `/metrics` of a member.
    func scrape(_ name: String) async throws -> PrometheusScrape {
        let member = try #require(members[name])
        let connection = try await HTTPClientConnection.connect(
            host: "127.0.0.1", port: member.metricsPort, tls: nil, serverName: nil, http2: false, connectTimeout: .seconds(2))
        defer { Task { await connection.close() } }
        let response = try await connection.request(.GET, "/metrics")
        try #require(response.status == .ok, "\(name) /metrics answered \(response.status)")
        return PrometheusScrape(text: response.text)
    }

    /// Waits until `condition` holds, polling every 200 ms; returns how long it took, or nil at the timeout.
    func waitUntil(_ timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if try await condition() { return ContinuousClock.now - start }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    // MARK: Catalog and placements

    struct Entry: Hashable {
        var owner: String?
        var incarnation: Int64?
        var epoch: Int64
        var placement: Int
    }

    /// The shard map as the catalog holds it.
    func map() async throws -> [Int: Entry] {
        var map: [Int: Entry] = [:]
        for row in try await catalog.rows("SELECT shard::text, owner, owner_incarnation::text, epoch::text, placement::text FROM shard_map") {
            map[Int(row[0]!)!] = Entry(owner: row[1], incarnation: row[2].flatMap { Int64($0) }, epoch: Int64(row[3]!)!,
                                       placement: Int(row[4]!)!)
        }
        return map
    }

    func shardCounts() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for entry in try await map().values { if let owner = entry.owner { counts[owner, default: 0] += 1 } }
        return counts
    }

    func leader() async throws -> String? {
        try await catalog.scalar("SELECT holder FROM leader_lease WHERE expires_at > now()")
    }

    /// Rows of a query on placement b.
    func rowsB(_ sql: String) async throws -> [[String?]] {
        var result: [[String?]] = []
        for try await row in try await placementB.client.query(.init(unsafeSQL: sql), logger: logger) {
            var values: [String?] = []
            for cell in row { values.append(try cell.decode(String?.self)) }
            result.append(values)
        }
        return result
    }

    /// The epochs the placements hold per shard (`shard_epochs`: what each owner claimed).
    func claimedEpochs() async throws -> [Int: Int64] {
        var epochs: [Int: Int64] = [:]
        for row in try await placementA.rows("SELECT shard::text, epoch::text FROM shard_epochs") { epochs[Int(row[0]!)!] = Int64(row[1]!)! }
        for row in try await rowsB("SELECT shard::text, epoch::text FROM shard_epochs") { epochs[Int(row[0]!)!] = Int64(row[1]!)! }
        return epochs
    }

    /// Whether every shard has an owner other than `excluded` that has claimed it at the map's epoch.
    func allShardsOwned(excluding excluded: Set<String> = []) async throws -> Bool {
        let map = try await map()
        guard map.count == shardCount, map.values.allSatisfy({ $0.owner != nil && !excluded.contains($0.owner!) }) else { return false }
        let claimed = try await claimedEpochs()
        return map.allSatisfy { claimed[$0.key] == $0.value.epoch }
    }
}

struct ClusterTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
