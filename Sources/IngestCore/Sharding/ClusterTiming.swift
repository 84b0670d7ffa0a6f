/// The cluster's timing defaults, written once: every role, the all-in-one stack and the
/// settings reader take them from here.
public enum ClusterTiming {
    /// How often members heartbeat and poll the shard map, and the coordinator plans
    /// (`--heartbeat-interval`).
    public static let heartbeatInterval: Duration = .seconds(2)
    /// How long the coordinator leader's lease lasts without renewal (`--leader-lease`).
    public static let leaderLease: Duration = .seconds(10)
    /// How long a member may go without a heartbeat before it is dead (`--member-timeout`).
    public static let memberTimeout: Duration = .seconds(10)
    /// How long a worker that left cleanly keeps its shards for a restart (`--restart-grace`).
    public static let restartGrace: Duration = .seconds(10)

    /// The one rule between them: a lease and a member timeout must outlast two heartbeats, so
    /// that one late heartbeat (a pause, a slow catalog write) loses neither.
    public static func problems(heartbeatInterval: Duration, leaderLease: Duration, memberTimeout: Duration) -> [String] {
        var problems: [String] = []
        if heartbeatInterval < .milliseconds(100) { problems.append("--heartbeat-interval must be at least 100ms") }
        if leaderLease <= heartbeatInterval * 2 { problems.append("--leader-lease must be longer than twice --heartbeat-interval") }
        if memberTimeout <= heartbeatInterval * 2 { problems.append("--member-timeout must be longer than twice --heartbeat-interval") }
        return problems
    }
}
