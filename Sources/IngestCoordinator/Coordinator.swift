import Foundation
import IngestCore
import IngestStorage
import Logging
import ServiceLifecycle
import Synchronization

/// The coordinator: holds the leader lease, tracks members by heartbeat and keeps the shard map
/// balanced over the live workers, bumping an epoch at every ownership change. It is never on
/// the hot path; gateways and workers keep working on the last map while it is down.
///
/// ## Overview
/// Every cycle (default 2 s) each replica heartbeats its member row and tries to take or renew
/// the lease (a row with an expiry, default 10 s). Only the holder plans: it reads the members,
/// computes ``ShardMap/rebalance(workers:)`` over the live workers (balanced within one shard,
/// fewest moves), re-fences the shards of any worker that came back with a new incarnation, and
/// publishes the changes with a new map version in one transaction that re-checks the lease.
public final class Coordinator: Service {
    /// Coordinator settings.
    public struct Configuration: Sendable {
        /// This replica's member ID (`--coordinator-id`).
        public var memberID: String
        /// The cluster's shard count (`--shard-count`).
        public var shardCount: Int = ShardFunction.defaultShardCount
        /// How often to heartbeat, renew the lease and plan (`--coordinator-interval`, default 2 s).
        public var cycleInterval: Duration = .seconds(2)
        /// How long a lease lasts without renewal (`--leader-lease`, default 10 s).
        public var leaseDuration: Duration = .seconds(10)
        /// How long a member may miss heartbeats before it is dead (`--member-timeout`, default 10 s).
        public var memberTimeout: Duration = .seconds(10)

        public init(memberID: String) { self.memberID = memberID }
    }

    public let configuration: Configuration
    public let incarnation: Int64
    let catalog: CatalogStore
    let logger: Logger
    /// Called after each published change (in-process hint for co-located roles).
    let onPublish: @Sendable () async -> Void
    let leading = Mutex(false)
    let stopping = Mutex(false)

    public init(
        configuration: Configuration, catalog: CatalogStore, logger: Logger,
        onPublish: @escaping @Sendable () async -> Void = {}
    ) {
        self.configuration = configuration
        self.catalog = catalog
        self.logger = logger
        self.onPublish = onPublish
        self.incarnation = Int64(Date().timeIntervalSince1970 * 1_000_000)
    }

    /// Whether this replica held the lease at its last cycle.
    public var isLeader: Bool { leading.withLock { $0 } }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !self.stopping.withLock({ $0 }) {
                do {
                    try await self.cycle()
                } catch {
                    self.leading.withLock { $0 = false }
                    self.logger.warning("coordinator cycle failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                let deadline = ContinuousClock.now.advanced(by: self.configuration.cycleInterval)
                while !self.stopping.withLock({ $0 }) && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
        }
        if isLeader {
            try? await catalog.releaseLease(holder: configuration.memberID)
        }
        try? await catalog.leave(id: configuration.memberID, incarnation: incarnation)
    }

    /// One cycle: heartbeat, lease, and (as leader) rebalance.
    public func cycle() async throws {
        try await catalog.heartbeat(
            id: configuration.memberID, role: .coordinator, address: "", incarnation: incarnation, state: .active)
        let leader = try await catalog.acquireLease(holder: configuration.memberID, duration: configuration.leaseDuration)
        let wasLeader = leading.withLock { state in
            defer { state = leader }
            return state
        }
        if leader != wasLeader {
            logger.info(leader ? "became the coordinator leader" : "lost the coordinator lease")
        }
        guard leader else { return }
        if try await rebalance() { await onPublish() }
    }

    /// Plans and publishes shard changes; returns whether anything changed.
    @discardableResult
    public func rebalance() async throws -> Bool {
        let (members, now) = try await catalog.members()
        let live = Membership(deadAfter: configuration.memberTimeout).liveWorkers(members, now: now)
        let incarnations = Dictionary(
            members.filter { live.contains($0.id) }.map { ($0.id, $0.incarnation) }, uniquingKeysWith: { $1 })
        let (map, ownerIncarnations) = try await catalog.shardMap(shardCount: configuration.shardCount)
        var changes = map.rebalance(workers: live)
        let moving = Set(changes.map(\.shard))
        for shard in map.placements.indices where !moving.contains(shard) {
            guard let owner = map.placements[shard].owner, let current = incarnations[owner],
                ownerIncarnations[shard] != current
            else { continue }
            // The owner restarted: keep the shard with it but fence its previous run.
            changes.append(ShardChange(shard: shard, owner: owner, epoch: map.placements[shard].epoch + 1))
        }
        guard !changes.isEmpty else { return false }
        guard let version = try await catalog.publish(changes, incarnations: incarnations, leader: configuration.memberID)
        else {
            leading.withLock { $0 = false }
            return false
        }
        logger.info("published shard map", metadata: [
            "version": "\(version)", "changes": "\(changes.count)", "workers": "\(live.sorted())"])
        return true
    }
}
