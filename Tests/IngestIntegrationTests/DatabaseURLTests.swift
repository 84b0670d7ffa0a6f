import IngestStorage
import Testing

/// Database URLs as deployments write them: a password from a file, TLS modes and a root CA.
struct DatabaseURLTests {
    @Test func aPasswordFromAFileFillsAURLWithoutOne() throws {
        let password = "p@ss:w/rd?&=%#"
        let text = DatabaseURL.text("postgres://app@console-db-rw:5432/app?sslmode=verify-full", withPassword: password)
        let url = try DatabaseURL(parsing: text)
        #expect(url.password == password && url.username == "app" && url.host == "console-db-rw" && url.database == "app")
        #expect(url.tls == .verifyFull)
        // A URL with its own password keeps it.
        #expect(try DatabaseURL(parsing: DatabaseURL.text("postgres://app:own@h/app", withPassword: password)).password == "own")
        #expect(DatabaseURL.text("not a url", withPassword: password) == "not a url")
    }

    @Test func tlsModesAndRootCertificate() throws {
        let url = try DatabaseURL(parsing: "postgresql://app:x@db:5432/app?sslmode=verify-ca&sslrootcert=/etc/console/db-ca/ca.crt")
        #expect(url.tls == .verifyCA && url.rootCertificate == "/etc/console/db-ca/ca.crt")
        #expect(url.description == "postgres://app:***@db:5432/app?sslmode=verify-ca&sslrootcert=/etc/console/db-ca/ca.crt")
        #expect(try DatabaseURL(parsing: "postgres://app@db/app?sslmode=require").tls == .require)
        #expect(try DatabaseURL(parsing: "postgres://app@db/app").tls == .prefer)
        #expect(throws: (any Error).self) { try DatabaseURL(parsing: "postgres://app@db/app?sslmode=sometimes") }
    }
}
