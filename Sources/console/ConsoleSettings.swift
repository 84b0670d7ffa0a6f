import IngestConsole
import IngestCoordinator
import IngestCore
import IngestStorage
import IngestGateway
import IngestTransport
import IngestWorker
import Logging

/// Everything `all-in-one` is configured with, typed and validated.
struct ConsoleSettings {
    var dataDirectory: String
    var databaseURL: String?
    /// `--database-password-file`'s password, for database URLs without one.
    var databasePassword: String?
    var postgresBin: String?
    /// `--postgres-settings`, parsed.
    var postgresSettings: [(name: String, value: String)]
    var logLevel: Logger.Level

    // Each role's own settings, with their defaults where the type is defined.
    /// The public listener (all-in-one, gateway).
    var listener = PublicListenerConfiguration()
    /// Token lifetimes (all-in-one, gateway).
    var tokens = TokenConfiguration()
    var gateway = GatewayConfiguration()
    var worker = WorkerConfiguration(memberID: "all-in-one")
    /// The coordinator's lease, member timeout and restart grace (all-in-one, coordinator;
    /// `status` judges members by the same timeout). Its member ID, shard count and cycle are
    /// set where it runs.
    var coordinator = Coordinator.Configuration(memberID: "coordinator")

    var advertiseHost: String?
    /// `--advertise-port`, if given (else the listening port).
    var advertisePort: Int?
    var tlsCertificate: String?
    var tlsKey: String?
    /// Host and port of the metrics listener, if any.
    var metricsAddress: (host: String, port: Int)?
    var databaseConnections: Int
    /// `--token-signing-key-file`, if given.
    var tokenSigningKeyFile: String?
    /// The settings of the cluster roles.
    var cluster = ClusterSettings()

    /// The shard count `--shard-count` asks a cluster to have; nil when it was not given (an
    /// existing cluster keeps its own).
    var requestedShardCount: Int? { cluster.shardCountGiven ? worker.shardCount : nil }

    /// The given certificate and key files, when both are.
    var tlsFiles: (certificate: String, key: String)? {
        tlsCertificate.flatMap { certificate in tlsKey.map { (certificate, $0) } }
    }

    /// The coordinator `memberID` runs with over `shardCount` shards: the settings' lease,
    /// timeout and grace, cycling at the heartbeat interval.
    func coordinatorConfiguration(memberID: String, shardCount: Int) -> Coordinator.Configuration {
        var configuration = coordinator
        configuration.memberID = memberID
        configuration.shardCount = shardCount
        configuration.cycleInterval = worker.heartbeatInterval
        configuration.restartGrace = cluster.restartGrace
        return configuration
    }

    /// Where a placement is: its `--placement` override or the URL the catalog holds, with
    /// `--database-password-file`'s password when the URL has none; nil when the placement is
    /// the catalog database itself. Every command that opens placements asks here.
    func placementURL(_ record: CatalogStore.PlacementRecord) throws -> DatabaseURL? {
        guard let url = cluster.placements.first(where: { $0.name == record.name })?.url ?? record.url else { return nil }
        do throws(IngestError) {
            return try DatabaseURL(parsing: DatabaseURL.text(url, withPassword: databasePassword))
        } catch {
            throw CommandFailure("placement \(record.name): \(error.message)")
        }
    }
}

/// The command whose settings are read.
enum ServingRole: String {
    case allInOne = "all-in-one"
    case gateway, worker, coordinator, migrate
    case apikey, status

    /// Whether the command serves or creates the cluster, and its settings are checked for that.
    var serves: Bool { self != .apikey && self != .status }
}
