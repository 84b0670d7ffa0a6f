/// A worker's ownership of shards: which shards it serves at which epoch, as it follows the
/// shard map, claims new shards and drains on shutdown.
///
/// ## Overview
/// - ``mapRead(_:)`` compares the map's assignment for this worker's run with what it serves:
///   shards taken away (or re-assigned at another epoch) are released at once, and shards
///   assigned anew are to be claimed (their epoch raised in the placement, their nodes loaded).
/// - ``claimed(_:)`` starts serving claimed shards; the first completed map read and claim
///   makes the worker ``Phase/active`` (ready).
/// - ``fenced(_:)`` drops shards a write found fenced by a newer epoch.
/// - ``beginDrain()`` stops taking work: requests get `unavailable` (503), so sensors resend
///   later and gateways retry on the refreshed map, while batches already accepted commit.
///
/// ## Implementation
/// A shard is served only at the exact epoch the map assigned and the claim raised; any other
/// epoch is refused with `shard_moved`, a shard not held with `unavailable`.
public struct ShardOwnership: Sendable {
    /// The worker's lifecycle phase.
    public enum Phase: String, Sendable, Hashable {
        /// Registered; its shards are not loaded yet (not ready).
        case joining
        /// Serving its shards.
        case active
        /// Shutting down: refusing new work, committing what it holds.
        case draining
    }

    /// What a map read asks the shell to do.
    public struct MapChange: Sendable, Hashable {
        /// Shards to claim, with the epochs the map gives them.
        public var claim: [Int: Int64]
        /// Shards no longer served (their nodes' state is to be forgotten).
        public var released: [Int: Int64]

        public var isEmpty: Bool { claim.isEmpty && released.isEmpty }
    }

    public let memberID: String
    public let incarnation: Int64
    public private(set) var phase: Phase = .joining
    /// Shards served, with their epochs.
    public private(set) var owned: [Int: Int64] = [:]
    /// The version of the last map acted on (-1 before the first).
    public private(set) var mapVersion: Int64 = -1

    public init(memberID: String, incarnation: Int64) {
        self.memberID = memberID
        self.incarnation = incarnation
    }

    /// Whether the worker is ready to serve (its first assignment is loaded and it is not draining).
    public var isReady: Bool { phase == .active }

    /// Whether a map of `version` should be read (it differs from the one acted on).
    public func needsMap(version: Int64) -> Bool { version != mapVersion && phase != .draining }

    /// The map was read: releases what moved away now, and returns what to claim.
    public mutating func mapRead(_ map: ShardMap) -> MapChange {
        guard phase != .draining else { return MapChange(claim: [:], released: [:]) }
        let assigned = map.shards(ownedBy: memberID, incarnation: incarnation)
        let released = owned.filter { assigned[$0.key] != $0.value }
        for shard in released.keys { owned.removeValue(forKey: shard) }
        let claim = assigned.filter { owned[$0.key] != $0.value }
        mapVersion = map.version
        if claim.isEmpty && phase == .joining { phase = .active }
        return MapChange(claim: claim, released: released)
    }

    /// A claim finished: `claimed` are the shards whose epochs were raised (the others were
    /// fenced by a newer owner already and are not served).
    public mutating func claimed(_ claimed: [Int: Int64]) {
        guard phase != .draining else { return }
        for (shard, epoch) in claimed { owned[shard] = epoch }
        if phase == .joining { phase = .active }
    }

    /// A claim failed (the placement was unreachable): the map is read again next poll.
    public mutating func claimFailed() {
        mapVersion = -1
    }

    /// A write found these shards fenced at these epochs: stop serving them. Returns the shards dropped.
    public mutating func fenced(_ shards: [Int: Int64]) -> Set<Int> {
        var dropped = Set<Int>()
        for (shard, epoch) in shards where owned[shard] == epoch {
            owned.removeValue(forKey: shard)
            dropped.insert(shard)
        }
        if !dropped.isEmpty { mapVersion = -1 }
        return dropped
    }

    /// Shutdown began: refuse new work from now on. False if already draining.
    public mutating func beginDrain() -> Bool {
        guard phase != .draining else { return false }
        phase = .draining
        return true
    }

    /// Why a request for `shard` at `epoch` cannot be served, if it cannot.
    public func refusal(shard: Int, epoch: Int64) -> IngestError? {
        guard phase != .draining else { return .draining }
        guard let held = owned[shard] else { return .unavailable }
        return held == epoch ? nil : .shardMoved
    }
}
