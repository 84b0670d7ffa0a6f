import IngestAuth
import IngestCoordinator
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport
import IngestWebConsole
import IngestWorker
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The roles of `all-in-one` wired together in one process: the gateway hands reports to the
/// local worker by function call, on the same shard map, epochs and fencing a cluster uses.
public final class ConsoleStack: Sendable {
    /// What the stack is built from.
    public struct Configuration: Sendable {
        public var worker: WorkerConfiguration
        public var gateway = GatewayConfiguration()
        public var listener = PublicListenerConfiguration()
        public var tls: TLSMaterial
        /// The files `tls` was read from, watched for a new certificate (nil: `tls` is fixed).
        public var tlsFiles: (certificate: String, key: String)?
        /// The co-located coordinator's lease and member timeout. Its member ID, shard count and
        /// cycle are the worker's, and its restart grace is its member timeout (the one worker
        /// that restarts keeps its shards as long as a member may be late).
        public var coordinator = Coordinator.Configuration(memberID: "coordinator")
        public var tokens = TokenConfiguration()
        /// Wraps the worker as the gateway sees it: fault injection for tests (a console that
        /// acknowledges without writing must fail the load test's loss check).
        public var ownerWrapper: (@Sendable (any ShardOwner) -> any ShardOwner)?

        public init(worker: WorkerConfiguration, tls: TLSMaterial) {
            self.worker = worker
            self.tls = tls
        }
    }

    public let catalog: CatalogStore
    public let placement: PlacementStore
    public let worker: Worker
    public let coordinator: Coordinator
    public let router: ShardRouter
    public let authenticator: Authenticator
    public let gateway: Gateway
    /// The gateway's member row and its part in the cluster's beat, as a cluster gateway's.
    public let gatewayHeartbeat: MemberHeartbeat
    /// The web console, in front of the gateway on the same port.
    public let webConsole: WebConsole
    public let server: HTTPServer
    /// Reloads the API keys when one is created or revoked.
    let keyListener: CatalogListener
    let logger: Logger

    /// Builds the roles over a migrated database; nothing runs yet.
    public init(
        configuration: Configuration, database: Database, signingKey: [UInt8], clock: any IngestClock,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) throws {
        self.logger = logger
        catalog = CatalogStore(database: database, logger: logger)
        placement = PlacementStore(database: database, logger: logger)
        let worker = Worker(configuration: configuration.worker, catalog: catalog, placements: [placement], clock: clock, logger: logger)
        let router = ShardRouter(
            shardFunction: ShardFunction(shardCount: configuration.worker.shardCount), catalog: catalog,
            local: [configuration.worker.memberID: configuration.ownerWrapper?(worker) ?? worker], remote: nil,
            pollInterval: configuration.worker.mapPollInterval,
            logger: logger)
        var coordinatorConfiguration = configuration.coordinator
        coordinatorConfiguration.memberID = "coordinator-\(configuration.worker.memberID)"
        coordinatorConfiguration.shardCount = configuration.worker.shardCount
        coordinatorConfiguration.cycleInterval = configuration.worker.heartbeatInterval
        coordinatorConfiguration.restartGrace = coordinatorConfiguration.memberTimeout
        // One beat for the process: the cluster's beat runs between the worker's bounds (its
        // window and thresholds stay the coordinator's).
        coordinatorConfiguration.beatRate.baseBeatRate = configuration.worker.beatRate.baseBeatRate
        coordinatorConfiguration.beatRate.maximumBeatRate = configuration.worker.beatRate.maximumBeatRate
        coordinator = Coordinator(configuration: coordinatorConfiguration, catalog: catalog, logger: logger) {
            // In-process hint: the co-located roles pick up a new map at once, not at their next poll.
            try? await worker.followShardMap()
            try? await router.refresh()
        }
        authenticator = configuration.tokens.authenticator(
            signingKey: signingKey, gateway: configuration.gateway, catalog: catalog, logger: logger)
        keyListener = authenticator.listener(database: database, logger: logger)
        var gatewayConfiguration = configuration.gateway
        gatewayConfiguration.clusterBeatTimeout = coordinatorConfiguration.clusterBeatTimeout
        gateway = Gateway(
            configuration: gatewayConfiguration, authenticator: authenticator, router: router, catalog: catalog,
            placements: [placement], clock: clock, logger: logger,
            localWorkerStats: { [worker.statsJSON] })
        gatewayHeartbeat = MemberHeartbeat(
            id: "gateway-\(configuration.worker.memberID)", role: .gateway, address: "", interval: configuration.worker.heartbeatInterval,
            catalog: catalog, logger: logger, load: gateway.loadBeat.heartbeatLoad)
        var webConfiguration = WebConsole.Configuration()
        webConfiguration.memberTimeout = coordinatorConfiguration.memberTimeout
        webConfiguration.sessionLifetime = configuration.tokens.webSessionLifetime
        webConsole = WebConsole(gateway: gateway, authenticator: authenticator, configuration: webConfiguration, clock: clock, logger: logger)
        server = HTTPServer(
            configuration: try configuration.listener.serverConfiguration(tls: configuration.tls, files: configuration.tlsFiles),
            responder: webConsole, group: group, logger: logger)
        self.worker = worker
        self.router = router
    }

    /// Binds the listener, joins the cluster and takes the shards, so the first request is
    /// served at once; returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        try await authenticator.reload()
        let port = try await server.bind()
        try await worker.heartbeat()
        try await gatewayHeartbeat.beat()
        try await coordinator.cycle()
        try await worker.followShardMap()
        try await router.refresh()
        return port
    }

    /// The services to run, in start order (a service group stops them in reverse: the listener
    /// first, the coordinator last).
    public var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        [
            .init(service: coordinator),
            .init(service: worker),
            .init(service: router),
            .init(service: gatewayHeartbeat),
            .init(service: keyListener),
            .init(service: webConsole.activity),
            .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
    }
}
