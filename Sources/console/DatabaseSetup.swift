import Foundation
import IngestCore
import IngestStorage
import Logging

/// The database the console uses: the one at `--database-url`, or the embedded server in the
/// data directory (started here when it is not running, and stopped again by ``finish()``).
struct DatabaseSetup {
    let url: DatabaseURL
    let embedded: EmbeddedPostgres?
    /// Whether this process started the embedded server.
    var startedEmbedded = false

    /// The database name the embedded server holds the console's tables in.
    static let embeddedDatabase = "console"

    static func prepare(
        databaseURL: String?, dataDirectory: String, postgresBin: String?, postgresSettings: [(name: String, value: String)] = [],
        logger: Logger
    ) async throws -> DatabaseSetup {
        if let databaseURL {
            do {
                return DatabaseSetup(url: try DatabaseURL(parsing: databaseURL), embedded: nil)
            } catch {
                throw CommandFailure("--database-url: \(error.message)")
            }
        }
        let embedded = try EmbeddedPostgres(
            dataDirectory: URL(fileURLWithPath: dataDirectory), binDirectory: postgresBin, settings: postgresSettings, logger: logger)
        let started = try embedded.start()
        try await Database.createIfMissing(embeddedDatabase, server: embedded.url(database: "postgres"), logger: logger)
        return DatabaseSetup(url: embedded.url(database: embeddedDatabase), embedded: embedded, startedEmbedded: started)
    }

    /// Stops the embedded server if this process started it (or, with `always`, if it uses one:
    /// `all-in-one` owns its server even when it found it running after a crash).
    func finish(always: Bool = false) {
        if startedEmbedded || always { embedded?.stop() }
    }
}

/// A failure reported to the operator as one line, without a stack of wrappers.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A logger writing to standard error at the given level.
func makeLogger(_ label: String, level: Logger.Level) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}
