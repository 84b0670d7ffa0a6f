import Logging
import PostgresNIO
import ServiceLifecycle

/// Listens for a catalog notification channel on one pinned connection and calls `onChange` for
/// each notification, once after every (re)connect (notifications sent while disconnected are
/// lost), and, with `poll`, also at that interval, in case the connection died unnoticed.
/// Channels: `shard_map` (the coordinator published a map; readers also poll its version) and
/// `api_keys` (a key was created or revoked, or a web console session signed out: gateways reload
/// their key table and ended sessions at once).
public struct CatalogListener: Service {
    public static let shardMap = "shard_map"
    public static let apiKeys = "api_keys"

    let channel: String
    let database: Database
    let poll: Duration?
    let logger: Logger
    let onChange: @Sendable () async -> Void

    public init(channel: String, database: Database, poll: Duration? = nil, logger: Logger, onChange: @escaping @Sendable () async -> Void) {
        self.channel = channel
        self.database = database
        self.poll = poll
        self.logger = logger
        self.onChange = onChange
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let poll {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: poll)
                            if !Task.isCancelled { await onChange() }
                        }
                    }
                }
                group.addTask { await listen() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    func listen() async {
        let channel = self.channel
        while !Task.isCancelled {
            do {
                try await database.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        await onChange()
                        for try await _ in notifications { await onChange() }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.debug("catalog listener reconnecting", metadata: ["channel": "\(channel)", LogKey.sqlState: "\(sqlState(of: error) ?? "none")"])
            }
            try? await Task.sleep(for: .seconds(1))
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
