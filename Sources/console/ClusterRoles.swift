import ArgumentParser
import Foundation
import IngestAuth
import IngestCoordinator
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport
import IngestWebConsole
import IngestWorker
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The metrics and health listener of a cluster role: `--metrics-address`, 0.0.0.0:9464 unless set.
func roleMetricsServer(settings: ConsoleSettings, registry: PrometheusCollectorRegistry, logger: Logger,
                       readiness: @escaping @Sendable () -> (ready: Bool, detail: String)) async throws -> HTTPServer {
    try await bindMetricsServer(
        address: settings.metricsAddress ?? (host: "0.0.0.0", port: 9464),
        responder: MetricsEndpoint(registry: registry, readiness: readiness), logger: logger)
}

/// Binds a plain-HTTP metrics listener (its metrics carry `listener="metrics"`), for the
/// cluster roles and all-in-one alike.
func bindMetricsServer(address: (host: String, port: Int), responder: MetricsEndpoint, logger: Logger) async throws -> HTTPServer {
    var configuration = HTTPServer.Configuration(host: address.host, port: address.port, tls: nil)
    configuration.listener = "metrics"
    let server = HTTPServer(configuration: configuration, responder: responder, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
    try await server.bind()
    return server
}

/// Bootstraps the Prometheus registry before any metric is created: durations in seconds from
/// 1 ms to 30 s, batch sizes in reports from 1 to 2,048.
func bootstrapMetrics() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000]
        .map { Duration.milliseconds($0) }
    factory.valueHistogramBuckets["ingest.worker.batch.size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    MetricsSystem.bootstrap(factory)
    return registry
}

/// Runs a role's services until SIGTERM or SIGINT, then shuts them down in reverse order.
func runServices(_ services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger) async throws {
    let group = ServiceGroup(configuration: .init(
        services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
    try await group.run()
}

/// `console coordinator`: the leader lease, membership and the shard map.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run a coordinator replica: the leader assigns shards to workers; standbys take over within the lease.",
        discussion: """
            Creates the cluster on first start when the catalog has none (with --shard-count and \
            --placement), applying the migrations to the catalog and every placement. Needs \
            --database-url (the catalog). Run two replicas; only the lease holder assigns.
            """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var member: MemberOptions
    @OptionGroup var coordination: CoordinationOptions
    @OptionGroup var beat: BeatOptions
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let settings = try ConsoleSettings.read(
            catalog: catalog,
            flags: member.flags.merging(coordination.flags) { $1 }.merging(beat.flags) { $1 }.merging(metrics.flags) { $1 },
            command: .coordinator)
        let logger = makeLogger("coordinator", level: settings.logLevel)
        let registry = bootstrapMetrics()
        try await ClusterContext.with(settings: settings, catalogConnections: 4, placementConnections: 2, create: true, logger: logger) { cluster in
            let configuration = settings.coordinatorConfiguration(
                memberID: settings.cluster.memberID(role: "coordinator"), shardCount: cluster.info.shardCount)
            do throws(ConfigurationError) { try configuration.validate() } catch { throw ValidationError(error.description) }
            let coordinator = Coordinator(configuration: configuration, catalog: cluster.catalog, logger: logger)
            let metricsServer = try await roleMetricsServer(settings: settings, registry: registry, logger: logger) {
                (true, coordinator.isLeader ? "leader" : "standby")
            }
            logger.info("coordinator started", metadata: [
                LogKey.member: "\(configuration.memberID)", "shards": "\(cluster.info.shardCount)",
                "placements": "\(cluster.info.placements.map(\.name))"])
            try await runServices([.init(service: metricsServer), .init(service: coordinator)], logger: logger)
        }
    }
}

/// `console worker --id NAME`: owns shards, writes their nodes' changes.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a shard worker: it owns the shards the coordinator assigns and writes their nodes' changes to the placements.",
        discussion: """
            Its --id must be stable across restarts (a StatefulSet pod name): a restart within \
            the coordinator's --restart-grace keeps its shards. Gateways reach it at \
            --advertise-address over HTTP/2 with TLS from the cluster CA (or h2c with \
            --internal-plaintext). SIGTERM drains: no new reports, everything accepted is \
            committed and answered, then it leaves.
            """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var member: MemberOptions
    @OptionGroup var listener: WorkerListenerOptions
    @OptionGroup var transport: InternalTransportOptions
    @OptionGroup var work: WorkOptions
    @OptionGroup var limits: ReportLimitOptions
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let flags = member.flags.merging(listener.flags) { $1 }.merging(transport.flags) { $1 }.merging(work.flags) { $1 }
            .merging(limits.flags) { $1 }.merging(metrics.flags) { $1 }
        let settings = try ConsoleSettings.read(catalog: catalog, flags: flags, command: .worker)
        MemoryTrimmer.configureAllocator()
        let logger = makeLogger("worker", level: settings.logLevel)
        raiseOpenFileLimit(logger: logger)
        let registry = bootstrapMetrics()
        let connections = settings.databaseConnections
        try await ClusterContext.with(
            settings: settings, catalogConnections: 6, placementConnections: connections, create: false, logger: logger
        ) { cluster in
            let cs = settings.cluster
            let advertise = cs.advertiseAddress ?? "\(ProcessInfo.processInfo.hostName):\(cs.internalPort)"
            var configuration = settings.worker
            configuration.memberID = cs.memberID(role: "worker")
            configuration.address = advertise
            configuration.shardCount = cluster.info.shardCount
            let problems = configuration.problems()
            if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
            let worker = Worker(configuration: configuration, catalog: cluster.catalog, placements: cluster.placementStores, logger: logger)

            var limits = WorkerEndpoint.Limits()
            limits.maxBodyBytes = settings.gateway.maxBodyBytes
            limits.maxReportBytes = settings.gateway.maxReportBytes
            limits.maxCompressionRatio = settings.gateway.maxCompressionRatio
            limits.parserLimits = settings.gateway.parserLimits
            let endpoint = WorkerEndpoint(worker: worker, clusterToken: try await cluster.clusterToken(), limits: limits)
            var internalTLS: TLSMaterial?
            if !cs.internalPlaintext {
                let host = String(advertise[..<(advertise.lastIndex(of: ":") ?? advertise.endIndex)])
                    .trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                let leaf = try await cluster.clusterCA().issue(
                    commonName: configuration.memberID,
                    dnsNames: ["localhost"] + (TLSMaterial.isIPAddress(host) ? [] : [host]),
                    ipAddresses: ["127.0.0.1", "::1"] + (TLSMaterial.isIPAddress(host) ? [host] : []))
                internalTLS = leaf
            }
            var serverConfiguration = HTTPServer.Configuration(
                host: cs.internalHost, port: cs.internalPort, tls: try internalTLS?.serverContext(), maxConcurrentStreams: 1000,
                idleTimeout: .seconds(3600), shutdownGrace: .seconds(30))
            serverConfiguration.plaintextHTTP2 = cs.internalPlaintext
            serverConfiguration.listener = "internal"
            let server = HTTPServer(configuration: serverConfiguration, responder: endpoint, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
            try await server.bind()
            let listener = CatalogListener(channel: CatalogListener.shardMap, database: cluster.catalogDatabase, logger: logger) {
                try? await worker.followShardMap()
            }
            let metricsServer = try await roleMetricsServer(settings: settings, registry: registry, logger: logger) {
                (worker.isReady, "\(worker.phase.rawValue), \(worker.ownedShards.count) shards")
            }
            logger.info("worker started", metadata: [
                LogKey.member: "\(configuration.memberID)", LogKey.address: "\(advertise)",
                "transport": "\(cs.internalPlaintext ? "h2c" : "TLS h2")"])
            // Shut down in reverse: the worker drains first (503 for new work, commits what it
            // holds), then the internal listener closes, then the map listener and metrics.
            try await runServices([
                .init(service: metricsServer), .init(service: listener), .init(service: MemoryTrimmer(interval: .seconds(10))),
                .init(service: server), .init(service: worker),
            ], logger: logger)
        }
    }
}

/// `console gateway`: the public TLS + HTTP/2 port, forwarding to the shard owners.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run a stateless gateway: the sensor and operator APIs on the public port, forwarded to the owning workers.",
        discussion: """
            It verifies tokens, bounds and decompresses bodies, maps each node to its shard's \
            owner with its cached shard map, and answers 200 only after the owner committed. \
            Needs --database-url (the catalog). Without --tls-cert it serves one self-signed \
            certificate kept in the catalog, the same on every gateway.
            """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var member: MemberOptions
    @OptionGroup var listener: ListenerOptions
    @OptionGroup var transport: InternalTransportOptions
    @OptionGroup var forward: ForwardOptions
    @OptionGroup var limits: LimitOptions
    @OptionGroup var tokens: TokenOptions
    @OptionGroup var metrics: MetricsOptions
    @Option(help: "The member timeout the coordinators run with: the web console's cluster page judges heartbeats by it, and the cluster's beat no leader has kept for three of them is no longer handed out (default 10s).")
    var memberTimeout: String?

    func run() async throws {
        let flags = member.flags.merging(listener.flags) { $1 }.merging(transport.flags) { $1 }.merging(forward.flags) { $1 }
            .merging(limits.flags) { $1 }.merging(tokens.flags) { $1 }.merging(metrics.flags) { $1 }
            .merging(["memberTimeout": memberTimeout]) { $1 }
        let settings = try ConsoleSettings.read(catalog: catalog, flags: flags, command: .gateway)
        MemoryTrimmer.configureAllocator()
        let logger = makeLogger("gateway", level: settings.logLevel)
        raiseOpenFileLimit(logger: logger)
        let registry = bootstrapMetrics()
        try await ClusterContext.with(settings: settings, catalogConnections: 6, placementConnections: 3, create: false, logger: logger) { cluster in
            let cs = settings.cluster
            let advertiseHost = settings.advertiseHost ?? ProcessInfo.processInfo.hostName
            let memberID = cs.memberID ?? "gateway-\(ProcessInfo.processInfo.hostName)-\(settings.listener.port)"
            var remote = RemoteShardOwner.Settings(
                tls: cs.internalPlaintext ? nil : try TLSMaterial.clientContext(trusting: try await cluster.clusterCA().certificatePEM),
                token: try await cluster.clusterToken())
            remote.maxInFlight = cs.maxWorkerInFlight
            remote.timeout = cs.forwardTimeout
            let router = ShardRouter(
                shardFunction: ShardFunction(shardCount: cluster.info.shardCount), catalog: cluster.catalog, local: [:],
                remote: remote, pollInterval: settings.worker.heartbeatInterval, logger: logger)
            let authenticator = settings.tokens.authenticator(
                signingKey: try await cluster.signingKey(file: settings.tokenSigningKeyFile), gateway: settings.gateway,
                catalog: cluster.catalog, logger: logger)
            var gatewayConfiguration = settings.gateway
            gatewayConfiguration.forwardTimeout = cs.forwardTimeout
            let gateway = Gateway(
                configuration: gatewayConfiguration, authenticator: authenticator, router: router, catalog: cluster.catalog,
                placements: cluster.placementStores, clock: SystemClock(), logger: logger)
            var webConfiguration = WebConsole.Configuration()
            webConfiguration.memberTimeout = settings.coordinator.memberTimeout
            webConfiguration.sessionLifetime = settings.tokens.webSessionLifetime
            let webConsole = WebConsole(gateway: gateway, authenticator: authenticator, configuration: webConfiguration, clock: SystemClock(), logger: logger)
            let tls = try await cluster.publicTLS(settings: settings, advertiseHost: advertiseHost)
            // Given files are watched for a new certificate; the catalog's self-signed one is fixed.
            let server = HTTPServer(
                configuration: try settings.listener.serverConfiguration(tls: tls, files: settings.tlsFiles), responder: webConsole,
                group: MultiThreadedEventLoopGroup.singleton, logger: logger)
            try await authenticator.reload()
            do { try await router.refresh() } catch {
                logger.warning("no shard map yet; serving 503 until one is read", metadata: [LogKey.error: "\(redacted(error))"])
            }
            let port = try await server.bind()
            let heartbeat = MemberHeartbeat(
                id: memberID, role: .gateway, address: "\(advertiseHost):\(settings.advertisePort ?? port)", interval: settings.worker.heartbeatInterval,
                catalog: cluster.catalog, logger: logger, load: gateway.loadBeat.heartbeatLoad)
            try await heartbeat.beat()
            let listener = CatalogListener(channel: CatalogListener.shardMap, database: cluster.catalogDatabase, logger: logger) {
                await router.refreshNow()
            }
            let keyListener = authenticator.listener(database: cluster.catalogDatabase, logger: logger)
            let metricsServer = try await roleMetricsServer(settings: settings, registry: registry, logger: logger) {
                (router.hasMap, "map version \(router.current.version)")
            }
            logger.info("gateway started", metadata: [LogKey.member: "\(memberID)", "port": "\(port)"])
            try await runServices([
                .init(service: metricsServer), .init(service: heartbeat), .init(service: listener), .init(service: keyListener),
                .init(service: MemoryTrimmer(interval: .seconds(10))), .init(service: router), .init(service: webConsole.activity),
                .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup),
            ], logger: logger)
        }
    }
}
