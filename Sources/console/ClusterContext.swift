import Foundation
import IngestCore
import IngestStorage
import IngestTransport
import Logging

/// What a cluster role opens at start: the catalog (at `--database-url`), the cluster as it was
/// created, and a connection pool per placement database.
struct ClusterContext {
    let catalogDatabase: Database
    let catalog: CatalogStore
    let info: CatalogStore.ClusterInfo
    /// The placement databases by placement number (the catalog's own where its URL is empty).
    let placementDatabases: [Database]
    let logger: Logger

    var placementStores: [PlacementStore] { placementDatabases.map { PlacementStore(database: $0, logger: logger) } }

    /// Opens the catalog and the placements and runs `body` while their pools run. With
    /// `create`, the cluster is created when it does not exist (migrations applied to the
    /// catalog and every placement); otherwise it waits up to a minute for `console migrate`
    /// or a coordinator to create it.
    static func with(
        settings: ConsoleSettings, catalogConnections: Int, placementConnections: Int, create: Bool, logger: Logger,
        _ body: (ClusterContext) async throws -> Void
    ) async throws {
        guard let text = settings.databaseURL else {
            throw CommandFailure("the cluster roles need --database-url: the catalog database (postgres://…)")
        }
        let catalogURL: DatabaseURL
        do throws(IngestError) { catalogURL = try DatabaseURL(parsing: text) } catch { throw CommandFailure("--database-url: \(error.message)") }
        let catalogDatabase = Database(url: catalogURL, maximumConnections: catalogConnections, pool: "catalog", logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await catalogDatabase.run() }
            defer { group.cancelAll() }
            try await catalogDatabase.waitUntilReachable()
            let catalog = CatalogStore(database: catalogDatabase, logger: logger)
            let info: CatalogStore.ClusterInfo
            if create {
                try await MigrationRunner(logger: logger).apply(to: catalogDatabase, targets: [.catalog])
                info = try await catalog.createCluster(shardCount: settings.requestedShardCount, placements: settings.cluster.placements)
            } else {
                info = try await waitForCluster(catalog, logger: logger)
            }
            var databases: [Database] = []
            for record in info.placements {
                guard let parsed = try settings.placementURL(record) else {
                    databases.append(catalogDatabase)
                    continue
                }
                let database = Database(url: parsed, maximumConnections: placementConnections, pool: "placement-" + record.name, logger: logger)
                group.addTask { try await database.run() }
                try await database.waitUntilReachable()
                databases.append(database)
            }
            if create {
                for (record, database) in zip(info.placements, databases) where database !== catalogDatabase {
                    let applied = try await MigrationRunner(logger: logger).apply(to: database, targets: [.placement])
                    if !applied.isEmpty { logger.info("migrated placement", metadata: [LogKey.placement: "\(record.name)"]) }
                }
                if databases.contains(where: { $0 === catalogDatabase }) {
                    try await MigrationRunner(logger: logger).apply(to: catalogDatabase, targets: [.placement])
                }
            }
            try await body(ClusterContext(
                catalogDatabase: catalogDatabase, catalog: catalog, info: info, placementDatabases: databases, logger: logger))
        }
    }

    static func waitForCluster(_ catalog: CatalogStore, logger: Logger) async throws -> CatalogStore.ClusterInfo {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        var logged = false
        while true {
            do {
                if let info = try await catalog.clusterInfo() { return info }
            } catch where sqlState(of: error) == "42P01" {
                // The catalog is not migrated yet.
            }
            guard ContinuousClock.now < deadline else {
                throw CommandFailure("the catalog holds no cluster: create it with `console migrate` or start a coordinator first")
            }
            if !logged {
                logger.info("waiting for the cluster to be created (console migrate or a coordinator)")
                logged = true
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: Secrets

    /// The token that authenticates gateways to workers.
    func clusterToken() async throws -> String {
        let bytes = try await catalog.secret(named: "cluster_token") { (0..<32).map { _ in UInt8.random(in: 0...255) } }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The cluster CA that signs the workers' internal certificates.
    func clusterCA() async throws -> TLSMaterial {
        try await pemSecret("cluster_ca") { try TLSMaterial.certificateAuthority(commonName: "ThreatMapper console cluster CA") }
    }

    /// The token signing key, shared by every gateway.
    func signingKey(file: String?) async throws -> [UInt8] {
        try await FirstStart.signingKey(file: file, catalog: catalog)
    }

    /// The public TLS certificate: `--tls-cert`/`--tls-key`, or one self-signed certificate kept
    /// in the catalog, so every gateway behind one address presents the same.
    func publicTLS(settings: ConsoleSettings, advertiseHost: String) async throws -> TLSMaterial {
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            return try TLSMaterial(certificateFile: certificate, keyFile: key)
        }
        return try await pemSecret("public_tls") {
            var names = ["localhost", ProcessInfo.processInfo.hostName]
            var addresses = ["127.0.0.1", "::1"]
            if TLSMaterial.isIPAddress(advertiseHost) { addresses.append(advertiseHost) } else { names.append(advertiseHost) }
            return try TLSMaterial.selfSigned(commonName: advertiseHost, dnsNames: names, ipAddresses: addresses)
        }
    }

    /// A certificate and key kept together in one catalog secret (first writer wins).
    func pemSecret(_ name: String, make: () throws -> TLSMaterial) async throws -> TLSMaterial {
        var failure: (any Error)?
        let bytes = try await catalog.secret(named: name) {
            do {
                let material = try make()
                return Array((material.certificatePEM + material.privateKeyPEM).utf8)
            } catch {
                failure = error
                return []
            }
        }
        if let failure { throw failure }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let keyStart = text.range(of: "-----BEGIN PRIVATE KEY-----") ?? text.range(of: "-----BEGIN EC PRIVATE KEY-----") else {
            throw CommandFailure("the catalog secret \(name) holds no private key")
        }
        return TLSMaterial(certificatePEM: String(text[..<keyStart.lowerBound]), privateKeyPEM: String(text[keyStart.lowerBound...]))
    }
}
