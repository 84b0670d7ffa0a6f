import Logging
import PostgresNIO

/// Applies the compiled-in migrations to a database: forward-only, each recorded with its
/// checksum in `schema_migrations`, all pending ones in one transaction under a
/// transaction-scoped advisory lock, so concurrent starters apply them once.
public struct MigrationRunner: Sendable {
    /// Why the runner refused to go on.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The lock key taken while migrating (the bytes "tmconsol").
    static let lockKey: Int64 = 0x746D_636F_6E73_6F6C

    public let migrations: [Migration]
    let logger: Logger

    public init(migrations: [Migration] = Migration.all, logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies every pending migration for `targets`; returns the names applied.
    @discardableResult
    public func apply(to database: Database, targets: Set<Migration.Target>) async throws -> [String] {
        let wanted = migrations.filter { targets.contains($0.target) }
        let logger = self.logger
        return try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger).consume()
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     integer     PRIMARY KEY,
                    name        text        NOT NULL,
                    checksum    text        NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger
            ).consume()
            var applied: [Int: (name: String, checksum: String)] = [:]
            let rows = try await connection.query("SELECT version, name, checksum FROM schema_migrations", logger: logger)
            for try await (version, name, checksum) in rows.decode((Int32, String, String).self) {
                applied[Int(version)] = (name, checksum)
            }
            let known = Set(migrations.map(\.version))
            if let newer = applied.keys.filter({ !known.contains($0) }).max() {
                throw Failure(description: "the database has migration \(newer) (\(applied[newer]!.name)), which this console does not know: it is older than the schema")
            }
            var done: [String] = []
            for migration in wanted {
                if let record = applied[migration.version] {
                    guard record.checksum == migration.checksum else {
                        throw Failure(description: "migration \(migration.name) was changed after it was applied (checksum mismatch); migrations are forward-only: add a new file instead")
                    }
                    continue
                }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).consume()
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(Int32(migration.version)), \(migration.name), \(migration.checksum))",
                    logger: logger
                ).consume()
                logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
                done.append(migration.name)
            }
            return done
        }
    }
}
