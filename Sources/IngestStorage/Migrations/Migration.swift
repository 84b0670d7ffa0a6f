import Crypto
import Foundation
import IngestCore

/// One forward-only schema migration: a numbered SQL file of `migrations/`, compiled into the
/// binary. Its first line names the database it applies to: `-- target: catalog` or
/// `-- target: placement` (in `all-in-one` both are the same database).
public struct Migration: Sendable, Hashable {
    /// Which database a migration applies to.
    public enum Target: String, Sendable, Hashable, CaseIterable {
        case catalog
        case placement
    }

    /// The number in front of the file name (`0002_placement.sql` → 2).
    public let version: Int
    /// The file name.
    public let name: String
    public let target: Target
    /// The file's text.
    public let sql: String
    /// The SHA-256 of the file's text, hex: an applied migration must never change.
    public let checksum: String

    /// Parses one migration file; nil if its name or target line is not of the expected form.
    public init?(name: String, sql: String) {
        guard let version = Int(name.prefix { $0.isNumber }), name.hasSuffix(".sql") else { return nil }
        let firstLine = sql.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        guard firstLine.hasPrefix("-- target:"),
            let target = Target(rawValue: firstLine.dropFirst("-- target:".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        self.version = version
        self.name = name
        self.target = target
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The statements of the migration, one at a time.
    public var statements: [String] { SQLScript.statements(sql) }

    /// Every migration compiled into this binary, in version order.
    public static let all: [Migration] = {
        let migrations = embeddedMigrationFiles.map { file -> Migration in
            guard let migration = Migration(name: file.name, sql: file.sql) else {
                fatalError("migrations/\(file.name) needs a numbered name and a '-- target: catalog|placement' first line")
            }
            return migration
        }.sorted { $0.version < $1.version }
        precondition(Set(migrations.map(\.version)).count == migrations.count, "two migrations share a version number")
        return migrations
    }()
}
