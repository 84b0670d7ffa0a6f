import IngestCore
import Logging
import PostgresNIO
import ServiceLifecycle

/// A pooled connection to one PostgreSQL database, run as a `Service`.
public final class Database: Service, Sendable {
    /// The database's location (password masked when printed).
    public let url: DatabaseURL
    /// The connection pool.
    public let client: PostgresClient
    let logger: Logger

    /// A pool of at most `maximumConnections` connections (`--database-connections`).
    public init(url: DatabaseURL, maximumConnections: Int, logger: Logger) {
        self.url = url
        self.logger = logger
        self.client = PostgresClient(
            configuration: url.clientConfiguration(maximumConnections: maximumConnections), backgroundLogger: logger)
    }

    /// Runs the pool until cancelled or shut down gracefully.
    public func run() async throws {
        await client.run()
    }

    /// Runs `body` in one transaction (committed when it returns, rolled back when it throws),
    /// with the underlying database error unwrapped.
    public func transaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    /// Runs one statement and waits for it to finish, ignoring rows.
    public func execute(_ query: PostgresQuery) async throws {
        try await client.query(query, logger: logger).consume()
    }

    /// Waits until the server answers, retrying for up to `timeout`.
    public func waitUntilReachable(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        // Give a pool started in a sibling task a moment to begin running.
        try await Task.sleep(for: .milliseconds(20))
        while true {
            do {
                try await execute("SELECT 1")
                return
            } catch {
                if ContinuousClock.now >= deadline { throw error }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

extension PostgresRowSequence {
    /// Reads and drops every row.
    public func consume() async throws {
        for try await _ in self {}
    }
}

/// The SQLSTATE of a database error, if it came from the server.
public func sqlState(of error: any Error) -> String? {
    if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
    if let error = error as? PostgresTransactionError {
        return (error.closureError ?? error.commitError ?? error.beginError).flatMap(sqlState(of:))
    }
    return nil
}

/// Whether a database error was caused by the data sent (SQLSTATE classes 22 and 23), as
/// opposed to the connection or the server.
public func isDataError(_ error: any Error) -> Bool {
    guard let state = sqlState(of: error) else { return false }
    return state.hasPrefix("22") || state.hasPrefix("23")
}

extension Database {
    /// Creates database `name` on the server of `server` (connected to its maintenance database)
    /// unless it exists.
    public static func createIfMissing(_ name: String, server: DatabaseURL, logger: Logger) async throws {
        let maintenance = Database(url: server, maximumConnections: 1, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await maintenance.run() }
            defer { group.cancelAll() }
            try await maintenance.waitUntilReachable()
            var exists = false
            for try await _ in try await maintenance.client.query(
                "SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger
            ).decode(Int32.self) {
                exists = true
            }
            if !exists {
                let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                do {
                    try await maintenance.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(quoted)"))
                } catch where sqlState(of: error) == "42P04" {
                    // Created concurrently: fine.
                }
            }
        }
    }
}

/// A description of an error that is safe to log: for a database error its SQLSTATE and kind,
/// never its SQL text, parameters or server detail (which may hold payload content).
public func redacted(_ error: any Error) -> String {
    if let error = error as? PSQLError {
        let state = error.serverInfo?[.sqlState].map { " sqlstate \($0)" } ?? ""
        return "database error \(error.code.description)\(state)"
    }
    if let error = error as? PostgresTransactionError {
        return (error.closureError ?? error.commitError ?? error.beginError).map(redacted) ?? "transaction error"
    }
    if let error = error as? IngestError { return error.description }
    if let error = error as? MigrationRunner.Failure { return error.description }
    return String(describing: type(of: error))
}
