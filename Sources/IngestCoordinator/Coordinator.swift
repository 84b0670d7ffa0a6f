import Foundation
import IngestCore
import IngestStorage
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The coordinator: holds the leader lease, tracks members by heartbeat and keeps the shard map
/// balanced over the live workers, bumping an epoch at every ownership change. It is never on
/// the hot path; gateways and workers keep working on the last map while it is down.
///
/// ## Overview
/// Every cycle (default 2 s) each replica heartbeats its member row and tries to take or renew
/// the lease (a catalog row with an expiry, default 10 s; ``LeaderLease`` tracks it locally).
/// Only the holder plans: it reads the members, decides who holds shards
/// (``Membership/assignment(_:now:)``), computes ``ShardMap/rebalance(workers:keeping:)``
/// (balanced within one shard, fewest moves, restarts re-fenced) and publishes the changes with
/// a new map version in one transaction that re-checks the lease. The holder also decides the
/// cluster's beat from every gateway's load (``ClusterBeat``) and keeps it in the catalog, where
/// the gateways' heartbeats read it.
public final class Coordinator: Service {
    /// Coordinator settings.
    public struct Configuration: Sendable {
        /// This replica's member ID (`--coordinator-id`).
        public var memberID: String
        /// The cluster's shard count (read from the catalog in a cluster).
        public var shardCount: Int = ShardFunction.defaultShardCount
        /// How often to heartbeat, renew the lease and plan (`--heartbeat-interval`, default 2 s).
        public var cycleInterval: Duration = ClusterTiming.heartbeatInterval
        /// How long a lease lasts without renewal (`--leader-lease`, default 10 s).
        public var leaseDuration: Duration = ClusterTiming.leaderLease
        /// How long a member may miss heartbeats before it is dead (`--member-timeout`, default 10 s).
        public var memberTimeout: Duration = ClusterTiming.memberTimeout
        /// How long a worker that left cleanly keeps its shards for a restart (`--restart-grace`, default 10 s).
        public var restartGrace: Duration = ClusterTiming.restartGrace
        /// The cluster's beat while the gateways' forwards are refused for load (``ClusterBeat``):
        /// from `--beat-rate` up to `--max-beat-rate`, the workers' settings (checked with theirs).
        public var beatRate = BeatRateController.Configuration()

        public init(memberID: String) { self.memberID = memberID }

        /// How long a kept beat stays fresh for a new leader to take over, and for a gateway to
        /// hand out (``GatewayConfiguration/clusterBeatTimeout``): three member timeouts.
        public var clusterBeatTimeout: Duration { memberTimeout * 3 }

        /// Checks the settings; throws naming the bad setting.
        public func validate() throws(ConfigurationError) {
            if memberID.isEmpty || memberID.count > 128 { throw ConfigurationError("--coordinator-id must be 1 to 128 characters") }
            if let problem = ClusterTiming.problems(heartbeatInterval: cycleInterval, leaderLease: leaseDuration, memberTimeout: memberTimeout).first {
                throw ConfigurationError(problem)
            }
            if restartGrace < .zero { throw ConfigurationError("--restart-grace must not be negative") }
        }
    }

    public let configuration: Configuration
    public let incarnation: Int64
    let catalog: CatalogStore
    let logger: Logger
    /// Called after each published change (in-process hint for co-located roles).
    let onPublish: @Sendable () async -> Void
    let lease: Mutex<LeaderLease>
    /// Fired at graceful shutdown: the cycle loop wakes and ends.
    let stopping = Latch()
    /// The shard map as last read: read again only when the stored map version moved.
    let knownMap = Mutex<ShardMap?>(nil)
    /// The cluster's beat while this replica leads, and the value it last kept in the catalog
    /// (both nil when it does not lead: a new leader resumes from the catalog).
    let clusterBeat = Mutex<(decision: ClusterBeat?, kept: Int?)>((nil, nil))
    /// The cluster's beat as this replica last decided it, seconds (the base when not raised or not leading).
    let beatRateGauge = Gauge(label: "ingest.coordinator.beat.rate")
    let started = ContinuousClock.now
    let leaderChanges = Counter(label: "ingest.coordinator.leader.changes")
    let leaderGauge = Gauge(label: "ingest.coordinator.leader")
    let shardMoves = Counter(label: "ingest.coordinator.shard.moves")
    let mapVersionGauge = Gauge(label: "ingest.coordinator.map.version")
    /// Workers that hold shards (alive, or restarting within the grace), as the leader last saw them.
    let workersGauge = Gauge(label: "ingest.coordinator.workers")
    /// Shards whose owner in the map is no live worker (the leader's view, each cycle).
    let unownedGauge = Gauge(label: "ingest.coordinator.shards.unowned")

    public init(
        configuration: Configuration, catalog: CatalogStore, logger: Logger,
        onPublish: @escaping @Sendable () async -> Void = {}
    ) {
        self.configuration = configuration
        self.catalog = catalog
        self.logger = logger
        self.onPublish = onPublish
        self.lease = Mutex(LeaderLease(duration: configuration.leaseDuration))
        self.incarnation = Int64(Date().timeIntervalSince1970 * 1_000_000)
        beatRateGauge.record(configuration.beatRate.baseBeatRate)
    }

    /// A monotonic local time for the lease.
    var localNow: Timestamp { Timestamp(milliseconds: (ContinuousClock.now - started).milliseconds) }

    /// Whether this replica may act as leader now.
    public var isLeader: Bool { lease.withLock { $0.isLeader(now: localNow) } }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !self.stopping.isFired {
                do {
                    try await self.cycle()
                } catch {
                    let action = self.lease.withLock { $0.renewalFailed(now: self.localNow) }
                    self.report(action)
                    self.logger.warning("coordinator cycle failed", metadata: [LogKey.error: "\(redacted(error))"])
                }
                await self.stopping.sleep(for: self.configuration.cycleInterval)
            }
        } onGracefulShutdown: {
            self.stopping.fire()
        }
        if isLeader {
            try? await catalog.releaseLease(holder: configuration.memberID)
        }
        try? await catalog.leave(id: configuration.memberID, incarnation: incarnation)
    }

    /// One cycle: heartbeat, lease, and (as leader) rebalance and the cluster's beat.
    public func cycle() async throws {
        // The heartbeat reads back the beat kept in the catalog: a new leader resumes from it.
        let stored = try await catalog.heartbeat(
            id: configuration.memberID, role: .coordinator, address: "", incarnation: incarnation, state: .active)
        let sentAt = localNow
        let held = try await catalog.acquireLease(holder: configuration.memberID, duration: configuration.leaseDuration)
        let action = lease.withLock { $0.renewed(held: held, sentAt: sentAt, now: localNow) }
        report(action)
        guard isLeader else {
            // Lost or never held, reported or not (a lease that ran out before a failed renewal
            // is no change to report): leading again starts from the catalog.
            clusterBeat.withLock { $0 = (nil, nil) }
            return
        }
        if try await rebalance() { await onPublish() }
        try await decideBeat(stored: stored)
    }

    /// Reads every gateway's totals, decides the cluster's beat and keeps it in the catalog:
    /// every cycle while raised (so gateways can tell it is fresh), and 0 once it is back at the
    /// base (again next cycle if that write failed). The write re-checks the lease, as a map
    /// publication does: a replaced leader cannot overwrite its successor's beat.
    /// `stored` is the beat the catalog held at this cycle's heartbeat and its age.
    func decideBeat(stored: (beatRate: Int, age: Duration)) async throws {
        let (gateways, now) = try await catalog.gatewayLoads()
        let (current, kept) = clusterBeat.withLock { $0 }
        var decision: ClusterBeat
        if let current {
            decision = current
        } else {
            let fresh = stored.beatRate > 0 && stored.age < configuration.clusterBeatTimeout ? stored.beatRate : nil
            decision = ClusterBeat(configuration: configuration.beatRate, resuming: fresh, now: now)
            if let fresh { logger.info("resumed the cluster beat rate", metadata: ["beat_rate": "\(fresh)"]) }
        }
        let before = decision.published
        let beat = decision.observe(gateways, now: now)
        guard isLeader else { return }
        clusterBeat.withLock { $0.decision = decision }
        beatRateGauge.record(beat)
        if decision.published != before {
            logger.notice("cluster beat rate changed", metadata: [
                "beat_rate": "\(beat)", "was": "\(before ?? configuration.beatRate.baseBeatRate)", "gateways": "\(gateways.count)"])
        }
        let keep = decision.published ?? 0
        guard keep != 0 || kept != 0 else { return }
        guard try await catalog.keepClusterBeat(keep, leader: configuration.memberID) else {
            report(lease.withLock { $0.lost() })
            clusterBeat.withLock { $0 = (nil, nil) }
            return
        }
        clusterBeat.withLock { $0.kept = keep }
    }

    func report(_ action: LeaderLease.Action) {
        switch action {
        case .none: return
        case .becameLeader:
            logger.info("became the coordinator leader", metadata: [LogKey.member: "\(configuration.memberID)"])
            leaderChanges.increment()
            leaderGauge.record(1)
        case .lostLeadership:
            logger.info("lost the coordinator lease", metadata: [LogKey.member: "\(configuration.memberID)"])
            leaderGauge.record(0)
            clusterBeat.withLock { $0 = (nil, nil) }
            beatRateGauge.record(configuration.beatRate.baseBeatRate)
            // Only the leader judges ownership: a former leader's last count would stay exported
            // (and keep an alert firing) after the shards were owned again.
            unownedGauge.record(0)
        }
    }

    /// The shard map: the one last read while the stored version is still its version (one
    /// single-row read a cycle), else read whole again.
    func currentMap() async throws -> ShardMap {
        let version = try await catalog.shardMapVersion()
        if let known = knownMap.withLock({ $0 }), known.version == version { return known }
        let map = try await catalog.shardMap(shardCount: configuration.shardCount)
        knownMap.withLock { $0 = map }
        return map
    }

    /// Plans and publishes shard changes; returns whether anything changed.
    @discardableResult
    public func rebalance() async throws -> Bool {
        let (members, now) = try await catalog.members()
        let membership = Membership(deadAfter: configuration.memberTimeout, restartGrace: configuration.restartGrace)
        let assignment = membership.assignment(members, now: now)
        let map = try await currentMap()
        mapVersionGauge.record(map.version)
        workersGauge.record(assignment.workers.count)
        unownedGauge.record(map.entries.filter { entry in entry.owner.map { assignment.workers[$0] == nil } ?? true }.count)
        let changes = map.rebalance(workers: assignment.workers, keeping: assignment.keeping)
        guard !changes.isEmpty else { return false }
        guard isLeader, let version = try await catalog.publish(changes, leader: configuration.memberID) else {
            report(lease.withLock { $0.lost() })
            return false
        }
        let moves = changes.filter { $0.isMove(from: map) }.count
        shardMoves.increment(by: moves)
        mapVersionGauge.record(version)
        logger.info("published shard map", metadata: [
            LogKey.version: "\(version)", "changes": "\(changes.count)", "moves": "\(moves)",
            "workers": "\(assignment.workers.keys.sorted())", "keeping": "\(assignment.keeping.sorted())"])
        return true
    }
}
