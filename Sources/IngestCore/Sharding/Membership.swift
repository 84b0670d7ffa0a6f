/// Cluster membership as the coordinator sees it: who is alive, from heartbeats.
///
/// ## Overview
/// Every worker and gateway upserts its member row every heartbeat (default 2 s). A member is
/// alive while its last heartbeat is younger than ``deadAfter`` (default 10 s) and it is not
/// draining or gone. A worker's ID is stable across restarts (its StatefulSet name); a restart
/// changes only its incarnation, so it is not a membership change.
public struct Membership: Sendable {
    /// A member's lifecycle state.
    public enum State: String, Sendable, Hashable, CaseIterable {
        case joining
        case active
        case draining
        case gone
    }

    /// A member's role.
    public enum Role: String, Sendable, Hashable, CaseIterable {
        case worker
        case gateway
        case coordinator
    }

    /// A member row.
    public struct Member: Sendable, Hashable {
        public var id: String
        public var role: Role
        public var address: String
        public var incarnation: Int64
        public var lastHeartbeat: Timestamp
        public var state: State

        public init(id: String, role: Role, address: String, incarnation: Int64, lastHeartbeat: Timestamp, state: State) {
            self.id = id
            self.role = role
            self.address = address
            self.incarnation = incarnation
            self.lastHeartbeat = lastHeartbeat
            self.state = state
        }

        /// Whether the member counts as alive at `now`.
        public func isAlive(now: Timestamp, deadAfter: Duration) -> Bool {
            (state == .joining || state == .active) && now.since(lastHeartbeat) < deadAfter
        }
    }

    /// How long a member may go without a heartbeat before it is dead (`--member-timeout`, default 10 s).
    public var deadAfter: Duration

    public init(deadAfter: Duration = .seconds(10)) {
        self.deadAfter = deadAfter
    }

    /// The workers that should own shards at `now`.
    public func liveWorkers(_ members: [Member], now: Timestamp) -> Set<String> {
        Set(members.filter { $0.role == .worker && $0.isAlive(now: now, deadAfter: deadAfter) }.map(\.id))
    }
}
