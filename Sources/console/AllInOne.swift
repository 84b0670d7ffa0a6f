import ArgumentParser
import Foundation
import IngestConsole
import IngestCore
import Metrics
import Prometheus
import IngestGateway
import IngestStorage
import IngestTransport
import IngestWorker
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `console all-in-one`: the gateway, one worker and the coordinator in one process, on the
/// embedded PostgreSQL unless `--database-url` is given.
struct AllInOne: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all-in-one",
        abstract: "Run the gateway, a worker and the coordinator in one process (the Docker-host deployment).",
        discussion: """
            Without --database-url it starts a private PostgreSQL from the machine's PostgreSQL \
            binaries in <data-dir>/postgres, reuses it on the next start, and stops it on shutdown. \
            The first start creates the token signing key, a self-signed TLS certificate (unless \
            --tls-cert/--tls-key are given), one sensor and one admin API key, prints them, and \
            saves them to <data-dir>/credentials.env (mode 0600). SIGTERM or SIGINT shut it down \
            gracefully: no new requests, reports in flight are committed and answered.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var serve: ServeOptions

    func run() async throws {
        let settings = try ConsoleSettings.read(database: database, flags: serve.flags, command: .allInOne)
        MemoryTrimmer.configureAllocator()
        let logger = makeLogger("console", level: settings.logLevel)
        // Metrics are bound to the factory when they are created: bootstrap before anything exists.
        let registry = settings.metricsAddress != nil ? bootstrapMetrics() : nil
        raiseOpenFileLimit(logger: logger)
        let dataDirectory = URL(fileURLWithPath: settings.dataDirectory).standardizedFileURL
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let setup = try await DatabaseSetup.prepare(
            databaseURL: settings.databaseURL, dataDirectory: dataDirectory.path, postgresBin: settings.postgresBin, postgresSettings: settings.postgresSettings,
            logger: logger)
        do {
            let database = Database(url: setup.url, maximumConnections: settings.databaseConnections, pool: "console", logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await database.run() }
                do {
                    try await database.waitUntilReachable()
                    try await serveAll(settings: settings, database: database, registry: registry, dataDirectory: dataDirectory, logger: logger)
                } catch {
                    group.cancelAll()
                    throw error
                }
                group.cancelAll()
            }
        } catch {
            setup.finish(always: true)
            throw error
        }
        setup.finish(always: true)
    }

    func serveAll(settings: ConsoleSettings, database: Database, registry: PrometheusCollectorRegistry?, dataDirectory: URL, logger: Logger) async throws {
        try await MigrationRunner(logger: logger).apply(to: database, targets: [.catalog, .placement])
        let catalog = CatalogStore(database: database, logger: logger)
        try await catalog.createCluster(shardCount: settings.worker.shardCount)

        let signingKey = try await FirstStart.signingKey(file: settings.tokenSigningKeyFile, catalog: catalog)
        let advertiseHost = settings.advertiseHost ?? ProcessInfo.processInfo.hostName
        let newKeys = try await FirstStart.ensureAPIKeys(catalog: catalog)
        let tls = try FirstStart.tlsMaterial(settings: settings, dataDirectory: dataDirectory, advertiseHost: advertiseHost, logger: logger)

        var stackConfiguration = ConsoleStack.Configuration(worker: settings.worker, tls: tls)
        stackConfiguration.gateway = settings.gateway
        // Without --upload-dir, uploads go under the data directory (a volume in a container).
        if settings.gateway.uploadDirectory == GatewayConfiguration().uploadDirectory {
            stackConfiguration.gateway.uploadDirectory = dataDirectory.appendingPathComponent("uploads").path
        }
        stackConfiguration.tlsFiles = FirstStart.tlsFiles(settings: settings, dataDirectory: dataDirectory)
        stackConfiguration.listener = settings.listener
        stackConfiguration.tokens = settings.tokens
        stackConfiguration.coordinator = settings.coordinator
        let stack = try ConsoleStack(
            configuration: stackConfiguration, database: database, signingKey: signingKey, clock: SystemClock(), logger: logger)
        let port = try await stack.start()
        // Every listener is bound before the banner says the console is ready.
        var metricsServer: HTTPServer?
        if let address = settings.metricsAddress, let registry {
            metricsServer = try await bindMetricsServer(address: address, responder: MetricsEndpoint(registry: registry), logger: logger)
        }

        FirstStart.printBanner(
            advertiseHost: advertiseHost, port: settings.advertisePort ?? port, newKeys: newKeys, dataDirectory: dataDirectory,
            certificate: settings.tlsCertificate ?? dataDirectory.appendingPathComponent("tls/console.crt").path)

        var services = stack.services
        services.append(.init(service: MemoryTrimmer(interval: .seconds(10))))
        if let metricsServer { services.append(.init(service: metricsServer)) }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger))
        try await group.run()
        logger.info("console stopped")
    }
}

/// Raises the soft open-file limit to the hard one: every sensor holds a connection.
func raiseOpenFileLimit(logger: Logger) {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0 else { return }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(resource, &raised) == 0 { limit = raised }
    }
    logger.info("open file limit", metadata: ["limit": "\(limit.rlim_cur)"])
}
