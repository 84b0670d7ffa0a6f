import Foundation
import IngestAuth
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport
import Logging
import NIOCore

/// What the first start creates: API keys and the TLS certificate, and the banner that tells
/// the operator and the sensors how to connect.
enum FirstStart {
    /// Keys created by this start (printed once; later starts reuse the stored hashes).
    struct NewKeys {
        var sensor: APIKey?
        var admin: APIKey?
    }

    /// Creates a sensor key and an admin key if the catalog has no active key of that role.
    static func ensureAPIKeys(catalog: CatalogStore) async throws -> NewKeys {
        let active = try await catalog.apiKeys().filter { $0.revokedAt == nil }
        var created = NewKeys()
        for role in APIRole.allCases where !active.contains(where: { $0.role == role.rawValue }) {
            let key = APIKey.generate()
            _ = try await catalog.insertAPIKey(role: role.rawValue, namespace: key.namespace, keyHash: key.hash,
                                               label: "created on first start")
            switch role {
            case .sensor: created.sensor = key
            case .admin: created.admin = key
            }
        }
        return created
    }

    /// The token signing key: the bytes of `file` (one trailing newline dropped, at least 32),
    /// or a random 32-byte key kept in the catalog, created by the first start.
    static func signingKey(file: String?, catalog: CatalogStore) async throws -> [UInt8] {
        guard let file else {
            return try await catalog.secret(named: "token_signing_key") {
                var generator = SystemRandomNumberGenerator()
                return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
        }
        guard var bytes = FileManager.default.contents(atPath: file).map(Array.init) else {
            throw CommandFailure("--token-signing-key-file: cannot read \(file)")
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard bytes.count >= 32 else {
            throw CommandFailure("--token-signing-key-file: \(file) holds \(bytes.count) bytes; the key needs at least 32 (openssl rand -base64 48)")
        }
        return bytes
    }

    /// The files the TLS certificate is read from: the given ones, or `<data-dir>/tls`'s.
    static func tlsFiles(settings: ConsoleSettings, dataDirectory: URL) -> (certificate: String, key: String) {
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey { return (certificate, key) }
        let directory = dataDirectory.appendingPathComponent("tls")
        return (directory.appendingPathComponent("console.crt").path, directory.appendingPathComponent("console.key").path)
    }

    /// The TLS certificate: the given files, or the self-signed one in `<data-dir>/tls`,
    /// created on first start.
    static func tlsMaterial(settings: ConsoleSettings, dataDirectory: URL, advertiseHost: String, logger: Logger) throws -> TLSMaterial {
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            return try TLSMaterial(certificateFile: certificate, keyFile: key)
        }
        let directory = dataDirectory.appendingPathComponent("tls")
        let certificateFile = directory.appendingPathComponent("console.crt")
        let keyFile = directory.appendingPathComponent("console.key")
        if FileManager.default.fileExists(atPath: certificateFile.path), FileManager.default.fileExists(atPath: keyFile.path) {
            return try TLSMaterial(certificateFile: certificateFile.path, keyFile: keyFile.path)
        }
        var addresses = ["127.0.0.1", "::1"]
        for device in (try? System.enumerateDevices()) ?? [] {
            if let address = device.address?.ipAddress, !addresses.contains(address) { addresses.append(address) }
        }
        var names = ["localhost", ProcessInfo.processInfo.hostName]
        if TLSMaterial.isIPAddress(advertiseHost) {
            if !addresses.contains(advertiseHost) { addresses.append(advertiseHost) }
        } else if !names.contains(advertiseHost) {
            names.append(advertiseHost)
        }
        let material = try TLSMaterial.selfSigned(commonName: advertiseHost, dnsNames: names, ipAddresses: addresses)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try write(material.privateKeyPEM, to: keyFile, mode: 0o600)
        try write(material.certificatePEM, to: certificateFile, mode: 0o644)
        logger.info("created a self-signed TLS certificate", metadata: ["path": "\(certificateFile.path)"])
        return material
    }

    static func write(_ text: String, to file: URL, mode: Int) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw CommandFailure("could not write \(file.path)")
        }
    }

    /// Prints the URL, the keys created now, and what a sensor needs, to standard output.
    static func printBanner(advertiseHost: String, port: Int, newKeys: NewKeys, dataDirectory: URL, certificate: String) {
        let url = port == 443 ? "https://\(advertiseHost)" : "https://\(advertiseHost):\(port)"
        let credentials = dataDirectory.appendingPathComponent("credentials.env")
        var lines = [
            "ThreatMapper console (all-in-one) is ready.",
            "  Console URL:      \(url)  (TLS, HTTP/2 and HTTP/1.1; web console at \(url)/console/)",
            "  TLS certificate:  \(certificate)",
        ]
        if let sensor = newKeys.sensor {
            lines.append("  Sensor API key:   \(sensor.token)")
        }
        if let admin = newKeys.admin {
            lines.append("  Admin API key:    \(admin.token)  (web console and operator API)")
        }
        if newKeys.sensor != nil || newKeys.admin != nil {
            var file = "# Written by `console all-in-one` on first start. Keep it secret: these keys are shown only once.\n"
            file += "MGMT_CONSOLE_URL=\(advertiseHost)\nMGMT_CONSOLE_PORT=\(port)\n"
            if let sensor = newKeys.sensor { file += "DEEPFENCE_KEY=\(sensor.token)\n" }
            if let admin = newKeys.admin { file += "CONSOLE_ADMIN_KEY=\(admin.token)\n" }
            // An existing file (an earlier database's keys) is left as it is, and the banner says
            // so rather than claiming these keys are in it.
            if FileManager.default.fileExists(atPath: credentials.path) {
                lines.append("  Keys not saved:   \(credentials.path) already exists (earlier keys); copy these now, they are not shown again")
            } else if (try? write(file, to: credentials, mode: 0o600)) != nil {
                lines.append("  Keys saved to:    \(credentials.path) (mode 0600)")
            } else {
                lines.append("  Keys not saved:   could not write \(credentials.path); copy these now, they are not shown again")
            }
        } else {
            lines.append("  API keys:         created on first start, see \(credentials.path); `console apikey create` makes more")
        }
        lines += [
            "  A sensor needs:",
            "    MGMT_CONSOLE_URL=\(advertiseHost)",
            "    MGMT_CONSOLE_PORT=\(port)",
            "    DEEPFENCE_KEY=\(newKeys.sensor?.token ?? "<the sensor API key>")",
        ]
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
