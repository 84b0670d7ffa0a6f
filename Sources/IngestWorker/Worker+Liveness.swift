import Foundation
import IngestCore
import IngestStorage

extension Worker {
    /// Nodes swept per hold of the worker's lock.
    static let sweepSlice = 512

    /// Marks nodes that missed their beats offline and deletes those past retention.
    public func sweep() async throws {
        for lane in allLanes {
            let (step, since) = lane.activity.withLock { $0 }
            if step != "idle" && step != "stopped" && ContinuousClock.now - since > .seconds(20) {
                logger.warning("a write lane is stalled", metadata: [
                    "lane": "\(lane.index)", "step": "\(step)", "seconds": "\((ContinuousClock.now - since).components.seconds)",
                    "depth": "\(lane.depth)"])
            }
        }
        let now = clock.now()
        let liveness = configuration.liveness
        var wentOffline: [(id: String, placement: Int)] = []
        var expired: [(id: String, shard: Int, epoch: Int64, placement: Int)] = []
        var counts = (nodes: 0, offline: 0, shards: 0, backlog: 0, beatRate: 0)
        defer {
            metrics.nodes.record(counts.nodes)
            metrics.nodesOffline.record(counts.offline)
            metrics.ownedShards.record(counts.shards)
            metrics.backlog.record(counts.backlog)
            metrics.beatRate.record(counts.beatRate)
        }
        // The node IDs are copied once; the nodes are then swept in slices, each under the lock
        // for a moment, so reports and polls of other nodes never wait for the whole sweep.
        let ids = state.withLock { state in
            counts = (state.nodes.count, 0, state.ownership.owned.count, state.pending, state.beatRate.beatRate)
            return Array(state.nodes.keys)
        }
        for slice in stride(from: 0, to: ids.count, by: Self.sweepSlice).map({ ids[$0..<min($0 + Self.sweepSlice, ids.count)] }) {
            state.withLock { state in
                for id in slice {
                    guard let outcome = state.nodes[id]?.liveness.sweep(now: now, configuration: liveness) else { continue }
                    switch outcome {
                    case .wentOffline:
                        wentOffline.append((id, state.placement(of: state.nodes[id]!.shard)))
                        counts.offline += 1
                    case .expired:
                        let shard = state.nodes[id]!.shard
                        if let epoch = state.ownership.owned[shard] { expired.append((id, shard, epoch, state.placement(of: shard))) }
                    case .offline: counts.offline += 1
                    case .online: break
                    }
                }
            }
        }
        for (placement, nodes) in Dictionary(grouping: wentOffline, by: \.placement) {
            try await placements[min(placement, placements.count - 1)].markOffline(nodes.map(\.id), at: now.date)
            logger.info("nodes went offline", metadata: ["count": "\(nodes.count)", LogKey.placement: "\(placement)"])
        }
        for (placement, nodes) in Dictionary(grouping: expired, by: \.placement) {
            let fences = Dictionary(nodes.map { (Int32($0.shard), $0.epoch) }, uniquingKeysWith: { $1 })
            switch try await placements[min(placement, placements.count - 1)].expire(nodes.map(\.id), fences: fences) {
            case .committed:
                let ids = nodes.map(\.id)
                state.withLock { state in
                    for id in ids { state.nodes.removeValue(forKey: id) }
                }
                for lane in allLanes { lane.forget(nodes: ids) }
                logger.info("expired nodes past retention", metadata: ["count": "\(ids.count)"])
            case .stale(let shards):
                lost(shards: Dictionary(nodes.filter { shards.contains(Int32($0.shard)) }.map { ($0.shard, $0.epoch) },
                                        uniquingKeysWith: { $1 }))
            }
        }
    }

    /// Creates the change-log and metric-sample partitions for today and tomorrow and drops
    /// those past retention.
    public func maintainPartitions() async throws {
        let now = clock.now()
        let cutoff = PartitionDay(now.advanced(by: .zero - configuration.changeLogRetention).date)
        let scanCutoff = PartitionDay(now.advanced(by: .zero - configuration.scanRetention).date)
        for store in placements {
            try await store.ensurePartitions(for: [now.date, now.advanced(by: .seconds(86_400)).date])
            var dropped = try await store.dropPartitions(before: cutoff.name)
            // Scans first, then their days' findings: a scan row never outlives its findings' partition.
            let scans = try await store.deleteScans(createdBefore: Date(timeIntervalSince1970: Double(scanCutoff.index) * 86_400))
            dropped += try await store.dropPartitions(before: scanCutoff.name, of: PlacementStore.findingTables)
            let orphans = try await store.deleteOrphanSBOMParts(storedBefore: now.advanced(by: .seconds(-3600)).date)
            if orphans > 0 { logger.info("deleted SBOM parts no scan points at", metadata: ["parts": "\(orphans)"]) }
            if !dropped.isEmpty || scans > 0 {
                logger.info("dropped partitions past retention", metadata: ["partitions": "\(dropped)", "scans": "\(scans)"])
            }
        }
    }

    /// The nodes this worker tracks, with liveness (for tests and the operator API).
    public func livenessSnapshot() -> [String: Bool] {
        state.withLock { state in state.nodes.mapValues(\.liveness.isOnline) }
    }
}
