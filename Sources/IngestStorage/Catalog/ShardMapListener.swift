import Logging
import PostgresNIO
import ServiceLifecycle

/// Listens for the coordinator's `shard_map` notifications on one pinned catalog connection and
/// calls `onChange` for each, and once after every (re)connect, since notifications sent while
/// disconnected are lost. A hint only: readers also poll the map version.
public struct ShardMapListener: Service {
    let database: Database
    let logger: Logger
    let onChange: @Sendable () async -> Void

    public init(database: Database, logger: Logger, onChange: @escaping @Sendable () async -> Void) {
        self.database = database
        self.logger = logger
        self.onChange = onChange
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await database.withConnection { connection in
                        try await connection.listen(on: "shard_map") { notifications in
                            await onChange()
                            for try await _ in notifications { await onChange() }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.debug("shard map listener reconnecting", metadata: [LogKey.sqlState: "\(sqlState(of: error) ?? "none")"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Log metadata keys used across the console's targets.
public enum LogKey {
    public static let error = "error"
    public static let sqlState = "sqlstate"
    public static let member = "member"
    public static let shards = "shards"
    public static let version = "version"
    public static let placement = "placement"
    public static let address = "address"
}
