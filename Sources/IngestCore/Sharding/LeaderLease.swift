/// A coordinator replica's view of the leader lease.
///
/// ## Overview
/// The lease is a catalog row with a holder and an expiry (database time); a replica takes it
/// when it is free or expired and renews it every cycle. Only the holder plans shard moves, and
/// every publish re-checks the row in the same transaction, so two leaders can never both
/// publish.
///
/// ## Implementation
/// Locally the replica counts itself leader until `sentAt + duration` of its last successful
/// renewal, measured on its own monotonic clock from *before* the renewal was sent, so it
/// stops planning no later than the row expires, even when the catalog becomes unreachable
/// (a failed renewal does not end leadership early; the expiry does).
public struct LeaderLease: Sendable {
    /// What changed at an event.
    public enum Action: Sendable, Hashable {
        case none
        case becameLeader
        case lostLeadership
    }

    /// How long a lease lasts without renewal (`--leader-lease`, default 10 s).
    public let duration: Duration
    /// Until when (local clock) this replica may act as leader.
    public private(set) var heldUntil: Timestamp?
    /// How many times this replica became leader.
    public private(set) var terms = 0

    public init(duration: Duration) {
        self.duration = duration
    }

    /// Whether this replica may act as leader at `now`.
    public func isLeader(now: Timestamp) -> Bool {
        heldUntil.map { now < $0 } ?? false
    }

    /// The catalog answered a renewal sent at `sentAt`: `held` tells whether this replica holds the lease.
    public mutating func renewed(held: Bool, sentAt: Timestamp, now: Timestamp) -> Action {
        let was = isLeader(now: now)
        heldUntil = held ? sentAt.advanced(by: duration) : nil
        let isNow = isLeader(now: now)
        if isNow && !was { terms += 1; return .becameLeader }
        if was && !isNow { return .lostLeadership }
        return .none
    }

    /// A renewal failed (catalog unreachable): leadership lasts until the last renewal's expiry.
    public mutating func renewalFailed(now: Timestamp) -> Action {
        guard let until = heldUntil else { return .none }
        if now >= until {
            heldUntil = nil
            return .lostLeadership
        }
        return .none
    }

    /// The lease was found lost when publishing (another replica holds it).
    public mutating func lost() -> Action {
        let was = heldUntil != nil
        heldUntil = nil
        return was ? .lostLeadership : .none
    }
}
