import PostgresNIO

/// SQL texts the test helpers run.
enum PostgresQueryText {
    static func dropDatabase(_ name: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\" WITH (FORCE)")
    }
}
