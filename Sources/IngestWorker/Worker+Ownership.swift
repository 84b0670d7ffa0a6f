import Foundation
import IngestCore
import IngestStorage
import IngestTransport
import ServiceLifecycle

extension Worker {
    /// Runs the write lanes and the background loops until graceful shutdown; then drains:
    /// heartbeats `draining`, refuses new work, commits what the lanes hold, and leaves the
    /// cluster (`gone`), so the coordinator keeps its shards for a restart within the grace and
    /// hands them over after it.
    public func run() async throws {
        try await heartbeat()
        await withGracefulShutdownHandler {
            // The background loops are tasks of their own, not children of a group: a group
            // waits for every child, and a loop stuck in a database call on a connection that died
            // unnoticed (a placement restarted) held the drain, and the process, for good.
            let background = [
                // Heartbeats go on while draining, so the member is seen leaving, not dead.
                Task { await self.every(self.configuration.heartbeatInterval, whileDraining: true) { try await self.heartbeat() } },
                Task { await self.every(self.configuration.mapPollInterval) { try await self.followShardMap() } },
                Task {
                    await self.every(self.configuration.sweepInterval) {
                        try await self.sweep()
                        try await self.failStalledScans()
                    }
                },
                Task { await self.every(.seconds(3600)) { try await self.maintainPartitions() } },
            ]
            await withTaskGroup(of: Void.self) { lanes in
                for lane in self.allLanes {
                    lanes.addTask { await self.runLane(lane) }
                }
            }
            // Every lane is closed and written out; the loops wake and end, or are left behind
            // after --commit-timeout (one stuck in a database call).
            self.stopped.fire()
            let finished: Void? = try? await withDeadline(self.configuration.commitTimeout) {
                for task in background { await task.value }
            }
            if finished == nil {
                self.logger.warning("a background task did not stop in time; leaving it", metadata: ["setting": "--commit-timeout"])
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        do {
            try await catalog.leave(id: configuration.memberID, incarnation: incarnation)
        } catch {
            logger.warning("could not leave the member table", metadata: [LogKey.error: "\(redacted(error))"])
        }
        logger.info("worker stopped", metadata: ["reports": "\(stats.reportsCommitted)"])
    }

    /// Stops taking work and lets the lanes drain.
    public func beginShutdown() {
        guard state.withLock({ $0.ownership.beginDrain() }) else { return }
        draining.fire()
        logger.info("worker draining", metadata: ["backlog": "\(backlog)"])
        for lane in allLanes { lane.close() }
        Task { try? await self.heartbeat() }
    }

    /// Runs `body` now and then every `interval` until shutdown (or, `whileDraining`, until the
    /// lanes are drained); failures are logged and retried. Between runs it sleeps the whole
    /// interval, woken early when shutdown (or the end of the drain) fires its latch.
    func every(_ interval: Duration, whileDraining: Bool = false, _ body: () async throws -> Void) async {
        let until = whileDraining ? stopped : draining
        while !until.isFired {
            do {
                try await body()
            } catch {
                logger.warning("background task failed", metadata: [LogKey.error: "\(redacted(error))"])
            }
            await until.sleep(for: interval)
        }
    }

    /// The member state this worker heartbeats: joining until its shards are loaded, then
    /// active, draining once shutdown began.
    var memberState: Membership.State {
        switch phase {
        case .joining: .joining
        case .active: .active
        case .draining: .draining
        }
    }

    public func heartbeat() async throws {
        try await catalog.heartbeat(
            id: configuration.memberID, role: .worker, address: configuration.address, incarnation: incarnation,
            state: memberState)
    }

    /// Reads the shard map when its version moved; gives up lost shards and claims new ones.
    /// Calls made while one runs (the poll and the notification hint) fold into one more pass.
    public func followShardMap() async throws {
        let first = following.withLock { following -> Bool in
            if following.running {
                following.again = true
                return false
            }
            following.running = true
            return true
        }
        guard first else { return }
        do {
            repeat {
                try await followShardMapOnce()
            } while following.withLock { following -> Bool in
                defer { following.again = false }
                if !following.again { following.running = false }
                return following.again
            }
        } catch {
            following.withLock { $0 = (false, false) }
            throw error
        }
    }

    func followShardMapOnce() async throws {
        let version = try await catalog.shardMapVersion()
        guard state.withLock({ $0.ownership.needsMap(version: version) }) else { return }
        let map = try await catalog.shardMap(shardCount: configuration.shardCount)
        let change = state.withLock { state in
            state.placementOf = map.entries.map(\.placement)
            return state.ownership.mapRead(map)
        }
        metrics.mapVersion.record(map.version)
        if !change.released.isEmpty {
            forget(shards: Set(change.released.keys))
            metrics.shardsReleased.increment(by: change.released.count)
        }
        if !change.claim.isEmpty {
            do {
                try await claim(change.claim)
            } catch {
                state.withLock { $0.ownership.claimFailed() }
                throw error
            }
            metrics.shardsClaimed.increment(by: change.claim.count)
        }
        if !change.isEmpty {
            metrics.ownedShards.record(ownedShards.count)
            logger.info("followed the shard map", metadata: [
                LogKey.version: "\(map.version)", "claimed": "\(change.claim.count)", "released": "\(change.released.count)",
                LogKey.shards: "\(ownedShards.count)"])
        }
    }

    /// Raises the epochs of newly assigned shards in their placements (fencing any previous
    /// owner), loads their nodes and pending commands, and starts serving them.
    func claim(_ shards: [Int: Int64]) async throws {
        let placementOf = state.withLock { $0.placementOf }
        let byPlacement = Dictionary(grouping: shards, by: { placementOf.indices.contains($0.key) ? placementOf[$0.key] : 0 })
        var claimed: [Int: Int64] = [:]
        var records: [PlacementStore.NodeRecord] = []
        var commands: [PlacementStore.CommandRecord] = []
        var starting: [(scanID: String, nodeID: String, since: Date)] = []
        for (placement, group) in byPlacement {
            let store = placements[min(placement, placements.count - 1)]
            let raised = try await store.claim(group.map { (shard: $0.key, epoch: $0.value) })
            let numbers = Array(raised)
            records += try await store.nodes(inShards: numbers)
            commands += try await store.pendingCommands(inShards: numbers)
            starting += try await store.scansAwaitingStart(inShards: numbers)
            for (shard, epoch) in group where raised.contains(shard) { claimed[shard] = epoch }
        }
        let now = clock.now()
        state.withLock { state in
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
            // Scans handed out by a previous owner and not reported on hold their slots here too.
            for scan in starting {
                state.nodes[scan.nodeID]?.awaitingStart.delivered(scan.scanID, at: min(Timestamp(scan.since), now))
            }
            state.ownership.claimed(claimed)
        }
        if claimed.count < shards.count {
            logger.warning("some assigned shards are fenced by a newer epoch", metadata: ["count": "\(shards.count - claimed.count)"])
        }
        logger.info("claimed shards", metadata: ["count": "\(claimed.count)", "nodes": "\(records.count)"])
    }

    /// Gives up shards a write found fenced at these epochs.
    func lost(shards: [Int: Int64]) {
        let dropped = state.withLock { $0.ownership.fenced(shards) }
        forget(shards: dropped)
    }

    /// Forgets the nodes of shards no longer served.
    func forget(shards dropped: Set<Int>) {
        guard !dropped.isEmpty else { return }
        state.withLock { state in
            state.nodes = state.nodes.filter { !dropped.contains($0.value.shard) }
        }
        for lane in allLanes { lane.forget(shards: dropped) }
        logger.info("gave up shards", metadata: ["count": "\(dropped.count)"])
    }
}
