import Foundation
import IngestStorage
import IngestTransport
import Logging

/// A fresh database for one test, on the server the test script started (`TEST_DATABASE_URL`),
/// migrated, with its pool running; dropped afterwards.
public final class TestDatabase: Sendable {
    /// Why a test cannot get its database. Tests that need PostgreSQL fail with it; they never skip.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public let database: Database
    public let url: DatabaseURL
    let server: DatabaseURL
    let pool: Task<Void, any Error>
    let logger: Logger

    /// The server URL from the environment.
    public static func serverURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] else {
            throw Unavailable(description: "TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
        }
        return try DatabaseURL(parsing: text)
    }

    /// Creates, migrates and opens a database named after the test.
    public static func make(_ label: String = "test", connections: Int = 12) async throws -> TestDatabase {
        let server = try serverURL()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let name = "t_" + label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(20) + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try await Database.createIfMissing(name, server: server, logger: logger)
        let url = server.with(database: name)
        let database = Database(url: url, maximumConnections: connections, logger: logger)
        let pool = Task { try await database.run() }
        try await database.waitUntilReachable()
        try await MigrationRunner(logger: logger).apply(to: database, targets: [.catalog, .placement])
        return TestDatabase(database: database, url: url, server: server, pool: pool, logger: logger)
    }

    init(database: Database, url: DatabaseURL, server: DatabaseURL, pool: Task<Void, any Error>, logger: Logger) {
        self.database = database
        self.url = url
        self.server = server
        self.pool = pool
        self.logger = logger
    }

    /// Closes the pool and drops the database.
    ///
    /// Each wait is bounded: a cancelled pool was seen never to finish (at the end of the cluster
    /// test, with no connection left open), and a test's cleanup must not hang the whole run.
    public func drop() async {
        pool.cancel()
        let pool = self.pool
        _ = try? await withDeadline(.seconds(20)) { _ = await pool.result }
        let maintenance = Database(url: server, maximumConnections: 1, logger: logger)
        let task = Task { try await maintenance.run() }
        let name = url.database
        _ = try? await withDeadline(.seconds(40)) {
            try await maintenance.waitUntilReachable()
            try await maintenance.execute(PostgresQueryText.dropDatabase(name))
        }
        task.cancel()
        _ = try? await withDeadline(.seconds(20)) { _ = await task.result }
    }

    /// The first value of a one-column query, as text (NULL → nil).
    public func scalar(_ sql: String) async throws -> String? {
        for try await value in try await database.query(.init(unsafeSQL: "SELECT (\(sql))::text"), logger: logger).decode(String?.self) {
            return value
        }
        return nil
    }

    /// A count query's result.
    public func count(_ sql: String) async throws -> Int {
        Int(try await scalar(sql) ?? "0") ?? 0
    }

    /// Rows of text columns.
    public func rows(_ sql: String) async throws -> [[String?]] {
        var result: [[String?]] = []
        for try await row in try await database.query(.init(unsafeSQL: sql), logger: logger) {
            var values: [String?] = []
            for cell in row {
                values.append(try cell.decode(String?.self))
            }
            result.append(values)
        }
        return result
    }
}
