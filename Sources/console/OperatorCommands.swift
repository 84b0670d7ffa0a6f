import ArgumentParser
import Foundation
import IngestAuth
import IngestCore
import IngestGateway
import IngestStorage
import Logging

/// Runs `body` against the database the options name (starting the embedded server for the
/// duration if it is not running).
func withDatabase<T>(
    _ options: DatabaseOptions, flags: [String: String?] = [:], command: ServingRole,
    _ body: (Database, Logger, ConsoleSettings) async throws -> T
) async throws -> T {
    let settings = try ConsoleSettings.read(database: options, flags: flags, command: command)
    let logger = makeLogger("console", level: settings.logLevel == .info ? .warning : settings.logLevel)
    let setup = try await DatabaseSetup.prepare(
        databaseURL: settings.databaseURL, dataDirectory: settings.dataDirectory, postgresBin: settings.postgresBin, postgresSettings: settings.postgresSettings,
        logger: logger)
    defer { setup.finish() }
    let database = Database(url: setup.url, maximumConnections: 2, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await database.run() }
        defer { group.cancelAll() }
        try await database.waitUntilReachable(timeout: .seconds(15))
        return try await body(database, logger, settings)
    }
}

/// `console migrate`: applies the migrations, creates the cluster, and exits.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations (forward-only, checksummed, under a lock) to the catalog and every placement, create the cluster if it does not exist, and exit.",
        discussion: """
            With --database-url this is how a cluster is created: --shard-count and --placement \
            (repeatable NAME=URL) are fixed from then on. On a catalog without API keys it also \
            creates one sensor and one admin key and prints them (they are stored hashed and \
            shown only now).
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Shards of a new cluster; fixed once created (default 4096).") var shardCount: String?
    @Option(help: "A placement database as NAME=URL (repeatable; default: the catalog database is the one placement).")
    var placement: [String] = []

    func run() async throws {
        let flags: [String: String?] = [
            "shardCount": shardCount, "placement": placement.isEmpty ? nil : placement.joined(separator: " "),
        ]
        try await withDatabase(database, flags: flags, command: .migrate) { database, logger, settings in
            var applied = try await MigrationRunner(logger: logger).apply(to: database, targets: [.catalog])
            let catalog = CatalogStore(database: database, logger: logger)
            let info = try await catalog.createCluster(shardCount: settings.requestedShardCount, placements: settings.cluster.placements)
            for record in info.placements {
                guard let url = try settings.placementURL(record) else {
                    // The catalog database is this placement.
                    applied += try await MigrationRunner(logger: logger).apply(to: database, targets: [.placement])
                    continue
                }
                let placement = Database(url: url, maximumConnections: 1, logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await placement.run() }
                    defer { group.cancelAll() }
                    try await placement.waitUntilReachable(timeout: .seconds(15))
                    applied += try await MigrationRunner(logger: logger).apply(to: placement, targets: [.placement]).map { "\(record.name): \($0)" }
                }
            }
            print(applied.isEmpty ? "The schema is up to date." : "Applied: \(applied.joined(separator: ", "))")
            print("Cluster: \(info.shardCount) shards over placements \(info.placements.map(\.name).joined(separator: ", ")).")
            if settings.databaseURL != nil {
                let keys = try await FirstStart.ensureAPIKeys(catalog: catalog)
                if let sensor = keys.sensor { print("Sensor API key: \(sensor.token)") }
                if let admin = keys.admin { print("Admin API key:  \(admin.token)") }
            }
        }
    }
}

/// `console apikey create|list|revoke`.
struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it (it is stored hashed and shown only now).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "sensor (sensor routes) or admin (sensor routes and the operator API).") var role: String = "sensor"
        @Option(help: "A note to tell keys apart.") var label: String = ""

        func run() async throws {
            guard let role = APIRole(rawValue: role) else { throw ValidationError("--role must be sensor or admin") }
            try await withDatabase(database, command: .apikey) { database, logger, _ in
                try await MigrationRunner(logger: logger).apply(to: database, targets: [.catalog, .placement])
                let key = APIKey.generate()
                let id = try await CatalogStore(database: database, logger: logger).insertAPIKey(
                    role: role.rawValue, namespace: key.namespace, keyHash: key.hash, label: label)
                print("Created \(role.rawValue) key \(id): \(key.token)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (IDs, roles, labels; never the keys).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await withDatabase(database, command: .apikey) { database, logger, _ in
                let keys = try await CatalogStore(database: database, logger: logger).apiKeys()
                print("ID\tROLE\tSTATE\tCREATED\tLABEL")
                for key in keys {
                    print("\(key.id)\t\(key.role)\t\(key.revokedAt == nil ? "active" : "revoked")\t\(key.createdAt)\t\(key.label)")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key: its logins, refreshes and tokens fail on every gateway within a second (they are notified when it commits).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The key's ID (from `console apikey list`).") var id: Int64

        func run() async throws {
            try await withDatabase(database, command: .apikey) { database, logger, _ in
                let revoked = try await CatalogStore(database: database, logger: logger).revokeAPIKey(id: id)
                guard revoked else { throw CommandFailure("no active key with ID \(id)") }
                print("Revoked key \(id).")
            }
        }
    }
}

/// `console status`: the cluster as the catalog and the placements see it.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the leader, members and their state, shards and nodes per worker, the map version and the placements, with warnings when the shard map is unbalanced or a member is late.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The heartbeat interval the members run with, to tell a late member (default 2s).") var heartbeatInterval: String?
    @Option(help: "The member timeout the coordinator runs with (default 10s).") var memberTimeout: String?

    func run() async throws {
        let flags: [String: String?] = ["heartbeatInterval": heartbeatInterval, "memberTimeout": memberTimeout]
        try await withDatabase(database, flags: flags, command: .status) { database, logger, settings in
            let catalog = CatalogStore(database: database, logger: logger)
            guard let info = try await catalog.clusterInfo() else { throw CommandFailure("the catalog holds no cluster yet") }
            let (members, now) = try await catalog.members()
            let map = try await catalog.shardMap(shardCount: info.shardCount)
            let counts = map.shardCounts()
            var nodesPerOwner: [String: Int] = [:]
            var nodesPerPlacement: [String: Int] = [:]
            var unreachable: [String] = []
            for record in info.placements {
                do {
                    let perShard = try await Self.nodesPerShard(url: try settings.placementURL(record), catalog: database, logger: logger)
                    nodesPerPlacement[record.name] = perShard.values.reduce(0, +)
                    for (shard, count) in perShard {
                        nodesPerOwner[map.entry(of: shard)?.owner ?? "(unassigned)", default: 0] += count
                    }
                } catch {
                    unreachable.append(record.name)
                }
            }
            print("Cluster: \(info.shardCount) shards, shard map version \(map.version), leader: \(try await catalog.leader() ?? "none")")
            print("Placements: " + info.placements.map { record in
                let where_ = record.url.map { (try? DatabaseURL(parsing: $0).description) ?? "?" } ?? "the catalog database"
                return "\(record.name) (\(where_), \(nodesPerPlacement[record.name].map(String.init) ?? "unreachable") nodes)"
            }.joined(separator: "; "))
            print("MEMBER\tROLE\tSTATE\tHEARTBEAT AGE\tADDRESS\tSHARDS\tNODES")
            var warnings: [String] = []
            let heartbeat = settings.worker.heartbeatInterval
            for member in members where member.state != .gone || now.since(member.lastHeartbeat) < .seconds(3600) {
                let age = Double(now.milliseconds - member.lastHeartbeat.milliseconds) / 1000
                let isWorker = member.role == .worker
                print("\(member.id)\t\(member.role.rawValue)\t\(member.state.rawValue)\t\(String(format: "%.1fs", age))\t\(member.address.isEmpty ? "-" : member.address)\t\(isWorker ? String(counts[member.id] ?? 0) : "-")\t\(isWorker ? String(nodesPerOwner[member.id] ?? 0) : "-")")
                if member.isLate(now: now, heartbeat: heartbeat, deadAfter: settings.coordinator.memberTimeout) {
                    warnings.append("\(member.id) is late: no heartbeat for \(String(format: "%.1f", age)) s")
                } else if (member.state == .active || member.state == .joining) && now.since(member.lastHeartbeat) >= settings.coordinator.memberTimeout {
                    warnings.append("\(member.id) is dead: no heartbeat for \(String(format: "%.1f", age)) s")
                }
            }
            let live = Membership(deadAfter: settings.coordinator.memberTimeout).liveWorkers(members, now: now)
            let imbalance = map.imbalance(over: live)
            if imbalance > 1 { warnings.append("the shard map is unbalanced: live workers' shard counts differ by \(imbalance)") }
            if map.unassignedCount > 0 { warnings.append("\(map.unassignedCount) shards have no owner") }
            for owner in Set(map.entries.compactMap(\.owner)) where !live.contains(owner) {
                warnings.append("\(counts[owner] ?? 0) shards are held by \(owner), which is not alive")
            }
            for name in unreachable { warnings.append("placement \(name) is unreachable") }
            for warning in warnings.sorted() { print("WARNING: \(warning)") }
        }
    }

    /// Node counts per shard in the placement at `url` (the catalog database itself when nil).
    static func nodesPerShard(url: DatabaseURL?, catalog: Database, logger: Logger) async throws -> [Int: Int] {
        func count(_ database: Database) async throws -> [Int: Int] {
            var counts: [Int: Int] = [:]
            for try await (shard, count) in try await database.query(
                "SELECT shard, count(*) FROM nodes GROUP BY shard", logger: logger
            ).decode((Int32, Int64).self) {
                counts[Int(shard)] = Int(count)
            }
            return counts
        }
        guard let url else { return try await count(catalog) }
        let database = Database(url: url, maximumConnections: 1, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            defer { group.cancelAll() }
            try await database.waitUntilReachable(timeout: .seconds(5))
            return try await count(database)
        }
    }
}
