import ArgumentParser
import Foundation
import IngestCore

/// Where a cluster role's catalog is (the cluster roles never start an embedded server).
struct CatalogOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: "The catalog database, postgres://user:password@host:port/db?sslmode=… (required; also CONSOLE_DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "A file holding the database password, for a --database-url (and placement URLs) without one: the URL can then sit in plain configuration and the password in a mounted Secret (a trailing newline is dropped).")
    var databasePasswordFile: String?

    @Option(help: "A JSON file of settings, keyed by option name in camelCase ({\"beatRate\": \"60\"}); also CONSOLE_CONFIG.")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error (default info).")
    var logLevel: String?

    var flags: [String: String?] { ["databaseURL": databaseURL, "databasePasswordFile": databasePasswordFile, "logLevel": logLevel] }
}

/// Options every cluster role has.
struct MemberOptions: ParsableArguments {
    @Option(help: "This member's stable ID: a worker's StatefulSet pod name (default: <role>-<host name>).") var id: String?
    @Option(help: "Heartbeat and shard-map poll interval (default 2s).") var heartbeatInterval: String?
    @Option(help: "A placement database as NAME=URL (repeatable). At cluster creation (migrate, coordinator) it lists the placements; on gateways and workers it overrides the URL the catalog holds for NAME (credentials from a Secret). Also CONSOLE_PLACEMENT, space-separated.")
    var placement: [String] = []

    var flags: [String: String?] {
        ["id": id, "heartbeatInterval": heartbeatInterval, "placement": placement.isEmpty ? nil : placement.joined(separator: " ")]
    }
}

/// The internal transport between gateways and workers.
struct InternalTransportOptions: ParsableArguments {
    @Flag(help: "Speak HTTP/2 without TLS (h2c) between gateways and workers; only on a private network (default: TLS with the cluster CA).")
    var internalPlaintext = false

    var flags: [String: String?] { ["internalPlaintext": internalPlaintext ? "true" : nil] }
}

/// The worker's internal listener.
struct WorkerListenerOptions: ParsableArguments {
    @Option(help: "Address the internal listener binds (default 0.0.0.0).") var internalHost: String?
    @Option(help: "Port of the internal listener gateways forward to (default 7443).") var internalPort: String?
    @Option(help: "host:port gateways reach this worker at (default <host name>:<internal port>).") var advertiseAddress: String?

    var flags: [String: String?] {
        ["internalHost": internalHost, "internalPort": internalPort, "advertiseAddress": advertiseAddress]
    }
}

/// How a gateway forwards.
struct ForwardOptions: ParsableArguments {
    @Option(help: "How long a request may wait for its worker, retries on a fresh shard map included, before it gets 503 (default 5s).")
    var forwardTimeout: String?
    @Option(help: "Requests in flight to one worker beyond which new ones get 503 (default 1000); one past --forward-timeout counts until the worker answers it.") var maxWorkerInFlight: String?

    var flags: [String: String?] { ["forwardTimeout": forwardTimeout, "maxWorkerInFlight": maxWorkerInFlight] }
}

/// The beat handed to sensors and how far load stretches it (all-in-one, worker, coordinator).
struct BeatOptions: ParsableArguments {
    @Option(help: "Seconds between reports handed to sensors while nothing is overloaded (default 30); set workers and coordinators alike.") var beatRate: String?
    @Option(help: "Highest beat the console stretches to under load: a worker for a standing backlog, the coordinator leader for the whole cluster while more than 5 % of the reports and polls the gateways forward are refused for load (default 120); set workers and coordinators alike.")
    var maxBeatRate: String?

    var flags: [String: String?] { ["beatRate": beatRate, "maxBeatRate": maxBeatRate] }
}

/// The coordinator's and the cluster creator's options.
struct CoordinationOptions: ParsableArguments {
    @Option(help: "Shards of a new cluster; fixed once created (default 4096).") var shardCount: String?
    @Option(help: "Coordinator leader lease (default 10s).") var leaderLease: String?
    @Option(help: "Member dead after this long without a heartbeat (default 10s).") var memberTimeout: String?
    @Option(help: "How long a worker that shut down cleanly keeps its shards for a restart with the same ID (default 10s; 0: hand them over at once).")
    var restartGrace: String?

    var flags: [String: String?] {
        ["shardCount": shardCount, "leaderLease": leaderLease, "memberTimeout": memberTimeout, "restartGrace": restartGrace]
    }
}

/// The settings of the cluster roles, typed, with their defaults.
struct ClusterSettings {
    /// `--id` (default `<role>-<host name>`).
    var memberID: String?
    /// `--placement NAME=URL`, in order.
    var placements: [(name: String, url: String)] = []
    /// `--internal-plaintext`: h2c between gateways and workers.
    var internalPlaintext = false
    /// `--internal-host`, `--internal-port`: the worker's internal listener.
    var internalHost = "0.0.0.0"
    var internalPort = 7443
    /// `--advertise-address` (default `<host name>:<internal port>`).
    var advertiseAddress: String?
    /// `--forward-timeout`: a gateway's budget per request, retries included.
    var forwardTimeout: Duration = .seconds(5)
    /// `--max-worker-in-flight`: requests in flight to one worker.
    var maxWorkerInFlight = 1000
    /// `--restart-grace`: how long a cleanly stopped worker keeps its shards.
    var restartGrace: Duration = ClusterTiming.restartGrace
    /// Whether `--shard-count` was given (it must then match an existing cluster's).
    var shardCountGiven = false

    static func read(_ source: inout SettingSource, role: ServingRole?) -> ClusterSettings {
        var settings = ClusterSettings()
        settings.memberID = source.text("id")
        if let text = source.text("placement") {
            for item in text.split(separator: " ") where !item.isEmpty {
                guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                    source.appendProblem("--placement: NAME=URL, not '\(item.prefix(40))'")
                    continue
                }
                settings.placements.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
            }
        }
        settings.internalPlaintext = source.text("internalPlaintext").map { $0 == "true" || $0 == "1" } ?? false
        // Defaults are the fields' own, above.
        settings.internalHost = source.string("internalHost", default: settings.internalHost)
        settings.internalPort = source.int("internalPort", default: settings.internalPort)
        settings.advertiseAddress = source.text("advertiseAddress")
        settings.forwardTimeout = source.duration("forwardTimeout", default: settings.forwardTimeout)
        settings.maxWorkerInFlight = source.int("maxWorkerInFlight", default: settings.maxWorkerInFlight)
        settings.restartGrace = source.duration("restartGrace", default: settings.restartGrace)
        settings.shardCountGiven = source.text("shardCount") != nil
        return settings
    }

    func validate(role: ServingRole, interval: Duration) -> [String] {
        var problems: [String] = []
        if let id = memberID, id.isEmpty || id.count > 128 || id.contains(where: { $0.isWhitespace }) {
            problems.append("--id must be 1 to 128 characters without spaces")
        }
        let names = placements.map(\.name)
        if Set(names).count != names.count { problems.append("--placement: each NAME once") }
        for placement in placements where !placement.url.hasPrefix("postgres://") && !placement.url.hasPrefix("postgresql://") {
            problems.append("--placement \(placement.name): the URL must start with postgres://")
        }
        if !(1...65535).contains(internalPort) { problems.append("--internal-port must be 1 to 65535") }
        if let address = advertiseAddress, Int(address.split(separator: ":").last ?? "") == nil {
            problems.append("--advertise-address: host:port, not '\(address)'")
        }
        if forwardTimeout < .milliseconds(100) { problems.append("--forward-timeout must be at least 100ms") }
        if maxWorkerInFlight < 1 { problems.append("--max-worker-in-flight must be at least 1") }
        if restartGrace < .zero { problems.append("--restart-grace must not be negative") }
        return problems
    }

    /// This member's ID: the given one, or `<role>-<host name>`.
    func memberID(role: String) -> String {
        memberID ?? "\(role)-\(ProcessInfo.processInfo.hostName)"
    }
}
