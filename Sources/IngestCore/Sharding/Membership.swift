/// Cluster membership as the coordinator sees it: who is alive, from heartbeats, and which
/// workers should hold shards.
///
/// ## Overview
/// Every worker, gateway and coordinator upserts its member row every heartbeat (default 2 s).
/// A worker goes `joining` (registered, loading its shards) → `active` → `draining` (SIGTERM:
/// it takes no new reports and commits what it holds) → `gone` (flushed and exited). A member
/// is alive while it is joining or active and its last heartbeat is younger than ``deadAfter``
/// (default 10 s).
///
/// ## Implementation
/// ``assignment(_:now:)`` decides who holds shards:
/// - alive workers hold shards under their current incarnation (a new incarnation with the
///   same ID is a restart: its shards stay with it, re-fenced);
/// - a worker that left cleanly (draining or gone) keeps its shards, untouched, for
///   ``restartGrace`` after its last heartbeat, so a rolling restart moves nothing; past the
///   grace its shards are orphans and spread over the others;
/// - a worker that stopped heartbeating while active is dead after ``deadAfter``.
/// A worker's ID is stable across restarts (its StatefulSet name).
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

        /// Whether the member's heartbeat is late (older than twice the heartbeat interval) while
        /// it is not yet dead.
        public func isLate(now: Timestamp, heartbeat: Duration, deadAfter: Duration) -> Bool {
            (state == .joining || state == .active) && now.since(lastHeartbeat) >= heartbeat * 2
                && now.since(lastHeartbeat) < deadAfter
        }
    }

    /// Who should hold shards: live workers with the run that owns their shards, and workers
    /// restarting within their grace, whose shards stay as they are.
    public struct Assignment: Sendable, Hashable {
        public var workers: [String: Int64]
        public var keeping: Set<String>
    }

    /// How long a member may go without a heartbeat before it is dead (`--member-timeout`, default 10 s).
    public var deadAfter: Duration
    /// How long a worker that left cleanly keeps its shards for a restart with the same ID
    /// (`--restart-grace`, default 10 s; 0 hands them over as soon as it leaves).
    public var restartGrace: Duration

    public init(deadAfter: Duration = ClusterTiming.memberTimeout, restartGrace: Duration = ClusterTiming.restartGrace) {
        self.deadAfter = deadAfter
        self.restartGrace = restartGrace
    }

    /// The workers that are alive at `now`.
    public func liveWorkers(_ members: [Member], now: Timestamp) -> Set<String> {
        Set(members.filter { $0.role == .worker && $0.isAlive(now: now, deadAfter: deadAfter) }.map(\.id))
    }

    /// Who should hold shards at `now`.
    public func assignment(_ members: [Member], now: Timestamp) -> Assignment {
        var result = Assignment(workers: [:], keeping: [])
        for member in members where member.role == .worker {
            switch member.state {
            case .joining, .active:
                if member.isAlive(now: now, deadAfter: deadAfter) { result.workers[member.id] = member.incarnation }
            case .draining, .gone:
                if now.since(member.lastHeartbeat) < restartGrace { result.keeping.insert(member.id) }
            }
        }
        return result
    }
}
