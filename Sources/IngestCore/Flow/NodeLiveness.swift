/// Whether a node is online: it is while it reports, and goes offline after a number of missed
/// beats.
///
/// ## Overview
/// Each report (or control poll) is a beat. A node is overdue when no beat arrived for
/// `missedBeats` × the beat rate it was last told, so a node that was asked to slow down is not
/// declared dead for obeying. Offline nodes are kept, and shown as offline, until
/// ``Configuration/retention`` has passed since their last beat; then they are expired.
public struct NodeLiveness: Sendable, Hashable {
    /// Liveness settings.
    public struct Configuration: Sendable, Hashable {
        /// Missed beats before a node is offline (`--offline-after-beats`, default 3).
        public var missedBeats: Int
        /// How long an offline node is kept (`--node-retention`, default 7 days).
        public var retention: Duration

        public init(missedBeats: Int = 3, retention: Duration = .seconds(7 * 24 * 3600)) {
            self.missedBeats = missedBeats
            self.retention = retention
        }
    }

    /// What a sweep decided about a node.
    public enum Verdict: Sendable, Hashable {
        case online
        case wentOffline
        case offline
        case expired
    }

    /// The last beat.
    public private(set) var lastBeat: Timestamp
    /// The beat rate the node was last told, seconds.
    public private(set) var beatRate: Int
    /// Whether the node is online.
    public private(set) var isOnline: Bool

    /// A node first heard of at `now`.
    public init(lastBeat: Timestamp, beatRate: Int, isOnline: Bool = true) {
        self.lastBeat = lastBeat
        self.beatRate = beatRate
        self.isOnline = isOnline
    }

    /// Records a beat; returns true if the node was offline and is back.
    public mutating func beat(at now: Timestamp, beatRate: Int) -> Bool {
        lastBeat = max(lastBeat, now)
        self.beatRate = beatRate
        defer { isOnline = true }
        return !isOnline
    }

    /// Looks at the node at `now`: online, just went offline, still offline, or past retention.
    public mutating func sweep(now: Timestamp, configuration: Configuration) -> Verdict {
        let silence = now.since(lastBeat)
        if silence >= configuration.retention { return .expired }
        let allowed = Duration.seconds(beatRate * max(configuration.missedBeats, 1))
        if silence > allowed {
            if isOnline {
                isOnline = false
                return .wentOffline
            }
            return .offline
        }
        return isOnline ? .online : .offline
    }
}
