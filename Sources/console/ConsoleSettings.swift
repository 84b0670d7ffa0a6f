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

    var host: String
    var port: Int
    var advertiseHost: String?
    /// `--advertise-port`, if given (else the listening port).
    var advertisePort: Int?
    var tlsCertificate: String?
    var tlsKey: String?
    var maxConcurrentStreams: Int
    var idleTimeout: Duration
    var http2Mode: HTTPServer.HTTP2Mode
    /// What one client may hold or send on the public listener.
    var listenerLimits = HTTPServer.Limits()
    /// How often the certificate files are checked for a new certificate.
    var tlsReloadInterval: Duration = .seconds(30)
    /// Host and port of the metrics listener, if any.
    var metricsAddress: (host: String, port: Int)?

    var gateway: GatewayConfiguration
    var worker: WorkerConfiguration
    var databaseConnections: Int
    var leaderLease: Duration
    var memberTimeout: Duration
    var accessTokenLifetime: Duration
    var refreshTokenLifetime: Duration
    /// `--token-signing-key-file`, if given.
    var tokenSigningKeyFile: String?
    /// The settings of the cluster roles.
    var cluster = ClusterSettings()

    /// The shard count `--shard-count` asks a cluster to have; nil when it was not given (an
    /// existing cluster keeps its own).
    var requestedShardCount: Int? { cluster.shardCountGiven ? worker.shardCount : nil }

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
