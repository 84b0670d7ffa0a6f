import IngestCore

/// A worker's settings. Every field is a command-line flag of `console all-in-one` / `worker`.
public struct WorkerConfiguration: Sendable {
    /// The worker's stable member ID (`--worker-id`; a StatefulSet pod name in Kubernetes).
    public var memberID: String
    /// The address other members reach it at (`--advertise-address`; empty in all-in-one).
    public var address: String = ""
    /// The number of shards of the cluster (`--shard-count`, default 4096).
    public var shardCount: Int = ShardFunction.defaultShardCount
    /// Parallel write lanes, each one database transaction at a time (`--write-lanes`, default 4).
    public var writeLanes: Int = 4
    /// Parallel write transactions per placement for findings, scan statuses and uploads' rows
    /// (`--findings-lanes`, default 2): lanes of their own, so a burst of findings never holds
    /// up the reports behind it.
    public var findingsLanes: Int = 2
    /// Most reports in one write transaction (`--max-batch-reports`, default 64).
    public var maxBatchReports: Int = 64
    /// How long a lane waits for more reports before writing a batch, less than the commit
    /// timeout (`--batch-linger`, default 5 ms).
    public var batchLinger: Duration = .milliseconds(5)
    /// Reports accepted but not yet committed beyond which new ones get 503
    /// (`--max-pending-reports`, default 2000).
    public var maxPendingReports: Int = 2000
    /// How often volatile metrics (CPU, memory, uptime, open files) are sampled per node
    /// (`--metric-sample-interval`, default 60 s).
    public var metricSampleInterval: Duration = .seconds(60)
    /// How long the change log and metric samples are kept (`--change-log-retention`, default 7 days).
    public var changeLogRetention: Duration = .seconds(7 * 86_400)
    /// How long scans and their findings are kept, by the day the scan was created
    /// (`--scan-retention`, default 90 days).
    public var scanRetention: Duration = .seconds(90 * 86_400)
    /// A scan handed to its sensor that reports no status and no findings for this long is
    /// ended as `ERROR`, so it no longer holds the node's slot for that kind of scan
    /// (`--scan-stall-timeout`, default 1 hour; 0 turns it off).
    public var scanStallTimeout: Duration = .seconds(3600)
    /// Liveness: missed beats before offline, and how long offline nodes are kept.
    public var liveness = NodeLiveness.Configuration()
    /// The beat rate handed to sensors and how it reacts to backlog.
    public var beatRate = BeatRateController.Configuration()
    /// How sensors acknowledged in one large batch are spread apart.
    public var beatSpread = BeatSpread.Configuration()
    /// How often the worker heartbeats its member row (`--heartbeat-interval`, default 2 s).
    public var heartbeatInterval: Duration = ClusterTiming.heartbeatInterval
    /// How often the worker polls the shard-map version (`--map-poll-interval`, default 2 s).
    public var mapPollInterval: Duration = ClusterTiming.heartbeatInterval
    /// How long a write transaction may take before its reports are answered 503 in doubt and
    /// the lane moves on (`--commit-timeout`, default 20 s).
    public var commitTimeout: Duration = .seconds(20)
    /// How often liveness is swept (default 5 s).
    public var sweepInterval: Duration = .seconds(5)

    public init(memberID: String) {
        self.memberID = memberID
    }

    /// Every problem with these settings, naming the options (empty: valid).
    public func problems() -> [String] {
        var problems: [String] = []
        if memberID.isEmpty || memberID.count > 128 { problems.append("--worker-id must be 1 to 128 characters") }
        if shardCount < 1 || shardCount > 1 << 20 { problems.append("--shard-count must be between 1 and 1048576") }
        if writeLanes < 1 || writeLanes > 64 { problems.append("--write-lanes must be between 1 and 64") }
        if findingsLanes < 1 || findingsLanes > 64 { problems.append("--findings-lanes must be between 1 and 64") }
        if maxBatchReports < 1 { problems.append("--max-batch-reports must be at least 1") }
        if batchLinger < .zero || batchLinger >= commitTimeout { problems.append("--batch-linger must be 0 or more and less than --commit-timeout") }
        if maxPendingReports < 1 { problems.append("--max-pending-reports must be at least 1") }
        if metricSampleInterval < .seconds(1) { problems.append("--metric-sample-interval must be at least 1 second") }
        if liveness.missedBeats < 1 { problems.append("--offline-after-beats must be at least 1") }
        if commitTimeout < .seconds(1) { problems.append("--commit-timeout must be at least 1s") }
        if scanRetention < .seconds(86_400) { problems.append("--scan-retention must be at least 1 day") }
        if scanStallTimeout < .zero { problems.append("--scan-stall-timeout must not be negative") }
        problems += [beatRate.validate(), beatSpread.validate()].compactMap { $0 }
        return problems
    }
}
