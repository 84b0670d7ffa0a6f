import IngestCore
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A pooled connection to one PostgreSQL database, run as a `Service`.
public final class Database: Service, Sendable {
    /// The database's location (password masked when printed).
    public let url: DatabaseURL
    /// The connection pool.
    public let client: PostgresClient
    let logger: Logger
    let metrics: PoolMetrics

    /// A pool of at most `maximumConnections` connections (`--database-connections`); `pool`
    /// names it in the metrics (`catalog`, `placement-a`, …).
    public init(url: DatabaseURL, maximumConnections: Int, pool: String = "default", logger: Logger) {
        self.url = url
        self.logger = logger
        self.metrics = PoolMetrics(pool: pool, maximumConnections: maximumConnections)
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
        try await metrics.measure {
            do {
                return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            } catch let error as PostgresTransactionError {
                throw error.closureError ?? error.commitError ?? error.beginError ?? error
            }
        }
    }

    /// Runs one query on a pooled connection; its rows are read from the sequence returned.
    public func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await metrics.measure { try await client.query(query, logger: logger) }
    }

    /// Leases one connection for `body` (a `LISTEN` session, say): it counts as in flight while
    /// held, but not as an operation (a session held for hours is no operation's duration).
    public func withConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await metrics.holding { try await client.withConnection(body) }
    }

    /// Runs one statement and waits for it to finish, ignoring rows.
    public func execute(_ query: PostgresQuery) async throws {
        try await self.query(query, logger: logger).consume()
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
public func sqlState(of error: any Error) -> String? { serverInfo(.sqlState, of: error) }

/// The server's DETAIL of a database error, if it came from the server.
public func serverDetail(of error: any Error) -> String? { serverInfo(.detail, of: error) }

/// A field of the server's error report, looked for through a failed transaction too.
func serverInfo(_ field: PSQLError.ServerInfo.Field, of error: any Error) -> String? {
    if let error = error as? PSQLError { return error.serverInfo?[field] }
    if let error = error as? PostgresTransactionError {
        return (error.closureError ?? error.commitError ?? error.beginError).flatMap { serverInfo(field, of: $0) }
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
            for try await _ in try await maintenance.query(
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

/// A pool's use, for `/metrics`: leases in flight (from the request for a connection until a
/// query's first answer, a whole transaction, or a pinned session), the pool's size, and each
/// query's or transaction's outcome and duration (time to lease a connection included).
final class PoolMetrics: Sendable {
    let inFlightCount = Atomic<Int>(0)
    let inFlight: Gauge
    let succeeded: Counter
    let failed: Counter
    let duration: Timer

    init(pool: String, maximumConnections: Int) {
        let dimensions = [("pool", pool)]
        inFlight = Gauge(label: "ingest.postgres.in_flight", dimensions: dimensions)
        succeeded = Counter(label: "ingest.postgres.operations", dimensions: dimensions + [("outcome", "ok")])
        failed = Counter(label: "ingest.postgres.operations", dimensions: dimensions + [("outcome", "error")])
        duration = Timer(label: "ingest.postgres.operation.duration", dimensions: dimensions)
        Gauge(label: "ingest.postgres.connections.max", dimensions: dimensions).record(maximumConnections)
    }

    /// Counts `operation` in flight, with its outcome and duration.
    func measure<Result>(_ operation: () async throws -> Result) async throws -> Result {
        let started = ContinuousClock.now
        defer { duration.recordSeconds((ContinuousClock.now - started).seconds) }
        do {
            let result = try await holding(operation)
            succeeded.increment()
            return result
        } catch {
            failed.increment()
            throw error
        }
    }

    /// Counts `lease` in flight while it runs.
    func holding<Result>(_ lease: () async throws -> Result) async throws -> Result {
        inFlight.record(inFlightCount.add(1, ordering: .relaxed).newValue)
        defer { inFlight.record(inFlightCount.subtract(1, ordering: .relaxed).newValue) }
        return try await lease()
    }
}
