import ArgumentParser
import Foundation
import IngestCore
import IngestGateway
import IngestStorage
import Logging

/// Runs `body` against the database the options name (starting the embedded server for the
/// duration if it is not running).
func withDatabase<T>(_ options: DatabaseOptions, _ body: (Database, Logger) async throws -> T) async throws -> T {
    let settings = try await ConsoleSettings.read(database: options, serve: nil)
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
        return try await body(database, logger)
    }
}

/// `console migrate`: applies the migrations and exits.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations (forward-only, checksummed, under a lock) and exit.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await withDatabase(database) { database, logger in
            let applied = try await MigrationRunner(logger: logger).apply(to: database, targets: [.catalog, .placement])
            print(applied.isEmpty ? "The schema is up to date." : "Applied: \(applied.joined(separator: ", "))")
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
            try await withDatabase(database) { database, logger in
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
            try await withDatabase(database) { database, logger in
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
            abstract: "Revoke a key: logins with it fail at once; tokens issued with it stop working within seconds.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The key's ID (from `console apikey list`).") var id: Int64

        func run() async throws {
            try await withDatabase(database) { database, logger in
                let revoked = try await CatalogStore(database: database, logger: logger).revokeAPIKey(id: id)
                guard revoked else { throw CommandFailure("no active key with ID \(id)") }
                print("Revoked key \(id).")
            }
        }
    }
}

/// `console status`: the cluster as the catalog sees it.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show members, shard ownership, the leader and node counts.")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await withDatabase(database) { database, logger in
            let catalog = CatalogStore(database: database, logger: logger)
            let placement = PlacementStore(database: database, logger: logger)
            let (members, now) = try await catalog.members()
            let version = try await catalog.shardMapVersion()
            let shardCount = try await catalog.shardCount() ?? ShardFunction.defaultShardCount
            let counts = try await catalog.shardMap(shardCount: shardCount).shardCounts()
            print("Shard map version \(version), \(shardCount) shards, leader: \(try await catalog.leader() ?? "none")")
            print("MEMBER\tROLE\tSTATE\tHEARTBEAT AGE\tSHARDS")
            for member in members {
                let age = Double(now.milliseconds - member.lastHeartbeat.milliseconds) / 1000
                print("\(member.id)\t\(member.role.rawValue)\t\(member.state.rawValue)\t\(String(format: "%.1fs", age))\t\(counts[member.id] ?? 0)")
            }
            for count in try await placement.nodeCounts() {
                print("nodes \(count.kind) \(count.online ? "online" : "offline"): \(count.count)")
            }
        }
    }
}
