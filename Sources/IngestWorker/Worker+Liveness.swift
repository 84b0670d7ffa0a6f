import Foundation
import IngestCore
import IngestStorage

extension Worker {
    /// Marks nodes that missed their beats offline and deletes those past retention.
    public func sweep() async throws {
        let now = clock.now()
        let liveness = configuration.liveness
        var wentOffline: [String] = []
        var expired: [(id: String, shard: Int, epoch: Int64)] = []
        var counts = (nodes: 0, offline: 0, shards: 0, backlog: 0, beatRate: 0)
        defer {
            metrics.nodes.record(counts.nodes)
            metrics.nodesOffline.record(counts.offline)
            metrics.ownedShards.record(counts.shards)
            metrics.backlog.record(counts.backlog)
            metrics.beatRate.record(counts.beatRate)
        }
        state.withLock { state in
            counts = (state.nodes.count, 0, state.owned.count, state.pending, state.beatRate.beatRate)
            for id in Array(state.nodes.keys) {
                switch state.nodes[id]!.liveness.sweep(now: now, configuration: liveness) {
                case .wentOffline:
                    wentOffline.append(id)
                    counts.offline += 1
                case .expired:
                    let shard = state.nodes[id]!.shard
                    if let epoch = state.owned[shard] { expired.append((id, shard, epoch)) }
                case .offline: counts.offline += 1
                case .online: break
                }
            }
        }
        if !wentOffline.isEmpty {
            try await placement.markOffline(wentOffline, at: now.date)
            logger.info("nodes went offline", metadata: ["count": "\(wentOffline.count)"])
        }
        if !expired.isEmpty {
            let fences = Dictionary(expired.map { (Int32($0.shard), $0.epoch) }, uniquingKeysWith: { $1 })
            switch try await placement.expire(expired.map(\.id), fences: fences) {
            case .committed:
                let ids = expired.map(\.id)
                state.withLock { state in
                    for id in ids { state.nodes.removeValue(forKey: id) }
                }
                for lane in lanes { lane.forget(nodes: ids) }
                logger.info("expired nodes past retention", metadata: ["count": "\(ids.count)"])
            case .stale(let shards):
                lost(shards: Dictionary(expired.filter { shards.contains(Int32($0.shard)) }.map { ($0.shard, $0.epoch) },
                                        uniquingKeysWith: { $1 }))
            }
        }
    }

    /// Creates the change-log and metric-sample partitions for today and tomorrow and drops
    /// those past retention.
    public func maintainPartitions() async throws {
        let now = clock.now()
        try await placement.ensurePartitions(for: [now.date, now.advanced(by: .seconds(86_400)).date])
        let cutoff = PartitionDay(now.advanced(by: .zero - configuration.changeLogRetention).date)
        let dropped = try await placement.dropPartitions(before: cutoff.name)
        if !dropped.isEmpty { logger.info("dropped partitions past retention", metadata: ["partitions": "\(dropped)"]) }
    }

    /// The nodes this worker tracks, with liveness (for tests and the operator API).
    public func livenessSnapshot() -> [String: Bool] {
        state.withLock { state in state.nodes.mapValues(\.liveness.isOnline) }
    }
}
