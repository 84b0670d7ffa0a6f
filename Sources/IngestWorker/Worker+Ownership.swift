import Foundation
import IngestCore
import IngestStorage
import ServiceLifecycle

extension Worker {
    /// Runs the write lanes and the background loops until graceful shutdown; then stops
    /// accepting, writes what is queued, and leaves the cluster.
    public func run() async throws {
        try await catalog.heartbeat(
            id: configuration.memberID, role: .worker, address: configuration.address, incarnation: incarnation,
            state: .active)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for lane in lanes {
                    group.addTask { await self.runLane(lane) }
                }
                group.addTask {
                    await self.every(self.configuration.heartbeatInterval) { try await self.heartbeat() }
                }
                group.addTask {
                    await self.every(self.configuration.mapPollInterval) { try await self.followShardMap() }
                }
                group.addTask {
                    await self.every(self.configuration.sweepInterval) { try await self.sweep() }
                }
                group.addTask {
                    await self.every(.seconds(3600)) { try await self.maintainPartitions() }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        do {
            try await catalog.leave(id: configuration.memberID, incarnation: incarnation)
        } catch {
            logger.warning("could not leave the member table", metadata: ["error": "\(String(reflecting: error))"])
        }
        logger.info("worker stopped", metadata: ["reports": "\(stats.reportsCommitted)"])
    }

    /// Stops taking reports and lets the lanes drain.
    func beginShutdown() {
        state.withLock { $0.accepting = false }
        for lane in lanes { lane.close() }
    }

    var isShuttingDown: Bool { state.withLock { !$0.accepting } }

    /// Runs `body` now and then every `interval` until shutdown; failures are logged and retried.
    func every(_ interval: Duration, _ body: () async throws -> Void) async {
        while !isShuttingDown {
            do {
                try await body()
            } catch {
                logger.warning("background task failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            let deadline = ContinuousClock.now.advanced(by: interval)
            while !isShuttingDown && ContinuousClock.now < deadline {
                try? await Task.sleep(for: min(.milliseconds(100), deadline - ContinuousClock.now))
            }
        }
    }

    func heartbeat() async throws {
        try await catalog.heartbeat(
            id: configuration.memberID, role: .worker, address: configuration.address, incarnation: incarnation,
            state: .active)
    }

    /// Reads the shard map when its version moved; gives up lost shards and claims new ones.
    public func followShardMap() async throws {
        let version = try await catalog.shardMapVersion()
        guard version != state.withLock({ $0.mapVersion }) else { return }
        let (map, incarnations) = try await catalog.shardMap(shardCount: configuration.shardCount)
        var assigned: [Int: Int64] = [:]
        for shard in map.placements.indices
        where map.placements[shard].owner == configuration.memberID && incarnations[shard] == incarnation {
            assigned[shard] = map.placements[shard].epoch
        }
        let owned = ownedShards
        let lostShards = owned.filter { assigned[$0.key] != $0.value }
        if !lostShards.isEmpty { lost(shards: lostShards) }
        let gained = assigned.filter { owned[$0.key] != $0.value }.map { (shard: $0.key, epoch: $0.value) }
        if !gained.isEmpty { try await claim(gained) }
        state.withLock { $0.mapVersion = map.version }
    }

    /// Raises the epochs of newly assigned shards in the placement (fencing any previous owner),
    /// loads their nodes and pending commands, and starts serving them.
    func claim(_ shards: [(shard: Int, epoch: Int64)]) async throws {
        let claimed = try await placement.claim(shards)
        let numbers = Array(claimed)
        let records = try await placement.nodes(inShards: numbers)
        let commands = try await placement.pendingCommands(inShards: numbers)
        let now = clock.now()
        state.withLock { state in
            for (shard, epoch) in shards where claimed.contains(shard) { state.owned[shard] = epoch }
            let beatRate = state.beatRate.beatRate
            for record in records where state.nodes[record.nodeID] == nil {
                state.nodes[record.nodeID] = NodeEntry(
                    shard: record.shard, kind: NodeKind(rawValue: record.kind) ?? .host,
                    liveness: NodeLiveness(lastBeat: min(Timestamp(record.lastSeen), now), beatRate: max(record.beatRate, beatRate),
                                           isOnline: record.online),
                    lastReportID: record.lastReportID)
            }
            for command in commands {
                if state.nodes[command.nodeID] == nil {
                    state.nodes[command.nodeID] = NodeEntry(
                        shard: command.shard, kind: .host,
                        liveness: NodeLiveness(lastBeat: now, beatRate: beatRate, isOnline: false))
                }
                let pending = AgentCommand(commandID: command.id, actionID: command.actionID, requestPayload: command.requestPayload)
                if !state.nodes[command.nodeID]!.commands.contains(pending) {
                    state.nodes[command.nodeID]!.commands.append(pending)
                }
            }
        }
        if claimed.count < shards.count {
            logger.warning("some assigned shards are fenced by a newer epoch", metadata: ["count": "\(shards.count - claimed.count)"])
        }
        logger.info("claimed shards", metadata: ["count": "\(claimed.count)", "nodes": "\(records.count)"])
    }

    /// Gives up shards (moved away, or found fenced at these epochs): forgets their nodes.
    func lost(shards: [Int: Int64]) {
        let dropped: Set<Int> = state.withLock { state in
            var dropped = Set<Int>()
            for (shard, epoch) in shards where state.owned[shard] == epoch {
                state.owned.removeValue(forKey: shard)
                dropped.insert(shard)
            }
            state.nodes = state.nodes.filter { !dropped.contains($0.value.shard) }
            return dropped
        }
        guard !dropped.isEmpty else { return }
        for lane in lanes { lane.forget(shards: dropped) }
        logger.info("gave up shards", metadata: ["count": "\(dropped.count)"])
    }
}
