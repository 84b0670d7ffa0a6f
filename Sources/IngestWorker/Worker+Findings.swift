import Foundation
import IngestCore
import IngestStorage
import IngestTransport

/// Findings, scan statuses and cloud resources: queued on the node's write lane like reports,
/// written in their own fenced transaction per lane batch, acknowledged after commit.
extension Worker {
    public func submitFindings(
        _ part: FindingsPart, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void
    ) {
        let capacity = configuration.maxPendingReports
        let decision: Result<Int, IngestError> = state.withLock { state in
            if let failure = state.refusal(shard: shard, epoch: epoch) { return .failure(failure) }
            // Findings share the backlog bound with reports: one bound on what waits in memory.
            guard state.pending < capacity else {
                state.stats.reportsShed += 1
                return .failure(.overloaded)
            }
            state.pending += 1
            return .success(state.placement(of: shard))
        }
        switch decision {
        case .failure(let error):
            if error.code == .overloaded { metrics.shed.increment() }
            completion(.failure(error))
        case .success(let placement):
            let item = FindingsItem(part: part, shard: shard, epoch: epoch, completion: completion)
            if !findingsLane(shard: shard, placement: placement).enqueue(item) {
                state.withLock { $0.pending -= 1 }
                completion(.failure(.unavailable))
            }
        }
    }

    /// Writes one lane batch of findings items in one fenced transaction. Items of shards that
    /// moved fail with 503; a batch refused for its data is retried item by item.
    func write(_ items: [FindingsItem], lane: WriteLane) async {
        let now = clock.now()
        var epochs: [Int: Int64] = [:]
        for item in items { epochs[item.shard] = max(epochs[item.shard] ?? .min, item.epoch) }
        let superseded = items.filter { $0.epoch != epochs[$0.shard] }
        finish(superseded, with: .failure(.shardMoved))
        let writing = items.filter { $0.epoch == epochs[$0.shard] }
        guard !writing.isEmpty else { return }
        var batch = FindingsWrite(at: now.date)
        for (shard, group) in Dictionary(grouping: writing, by: \.shard) {
            batch.add(group.map(\.part), shard: shard, epoch: group[0].epoch)
        }
        do {
            lane.at("writing findings")
            try await ensurePartition(for: now, lane: lane)
            let store = lane.store
            let findings = batch
            guard let outcome = try await withDeadline(configuration.commitTimeout, { try await store.write(findings) }) else {
                logger.warning("a findings write did not finish in time; its requests are answered in doubt",
                               metadata: ["requests": "\(writing.count)", "setting": "--commit-timeout"])
                finish(writing, with: .failure(.commitTimeout))
                return
            }
            switch outcome {
            case .committed:
                let records = writing.reduce(0) { $0 + $1.part.count }
                metrics.findingsCommitted.increment(by: records)
                state.withLock { state in
                    state.pending -= writing.count
                    state.stats.findingsCommitted += records
                    state.stats.batchesCommitted += 1
                    // The sensor reported on these scans: its own workload counts them from now on.
                    for item in writing where state.nodes[item.part.nodeID]?.awaitingStart.isEmpty == false {
                        state.nodes[item.part.nodeID]!.awaitingStart.reported(item.part.scanIDs)
                    }
                }
                for item in writing { item.completion(.success(item.part.count)) }
            case .stale(let shards):
                let staleShards = Set(shards.map(Int.init))
                lost(shards: Dictionary(writing.filter { staleShards.contains($0.shard) }.map { ($0.shard, $0.epoch) }, uniquingKeysWith: { $1 }))
                finish(writing.filter { staleShards.contains($0.shard) }, with: .failure(.shardMoved))
                let remaining = writing.filter { !staleShards.contains($0.shard) }
                if !remaining.isEmpty { await write(remaining, lane: lane) }
            }
        } catch {
            switch failure(error, items: writing.count, node: writing.first?.part.nodeID, what: "findings") {
            case .oneByOne: for item in writing { await write([item], lane: lane) }
            case .refused(let refusal): finish(writing, with: .failure(refusal))
            }
        }
    }

    /// Answers findings items that were not committed.
    func finish(_ items: [FindingsItem], with result: Result<Int, IngestError>) {
        guard !items.isEmpty else { return }
        if case .failure(let error) = result {
            if error.code == .shardMoved { metrics.fenced.increment(by: items.count) } else { metrics.failed.increment(by: items.count) }
        }
        state.withLock { $0.pending -= items.count }
        for item in items { item.completion(result) }
    }

    /// Queues a scan: its row (`QUEUED`) and its start command in one fenced transaction, then
    /// the command in memory for the node's next poll. Refused while the node has a scan of
    /// that kind that has not ended.
    public func queueScan(
        _ scanID: String, kind: FindingKind, nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String
    ) async throws -> AgentCommand {
        if let failure = state.withLock({ $0.refusal(shard: shard, epoch: epoch) }) { throw failure }
        let now = clock.now()
        let placement = state.withLock { $0.placement(of: shard) }
        // The scan's findings go to the partition of its day: made once a day per lane.
        try await ensurePartition(for: now, lane: findingsLane(shard: shard, placement: placement))
        switch try await store(of: shard).queueScan(
            scanID: scanID, kind: kind, nodeID: nodeID, shard: shard, epoch: epoch, actionID: actionID,
            requestPayload: requestPayload, at: now.date)
        {
        case .stale:
            lost(shards: [shard: epoch])
            throw IngestError.shardMoved
        case .inProgress(let open):
            throw IngestError.scanInProgress(open, kind: kind.rawValue)
        case .idTaken:
            throw IngestError.scanIDTaken
        case .queued(let commandID):
            let command = AgentCommand(commandID: commandID, actionID: actionID, requestPayload: requestPayload)
            remember(command, for: nodeID, shard: shard, at: now)
            return command
        }
    }

    /// Ends the scans of owned shards that made no progress for `--scan-stall-timeout`.
    public func failStalledScans() async throws {
        let timeout = configuration.scanStallTimeout
        guard timeout > .zero else { return }
        let now = clock.now()
        let byPlacement: [Int: [Int32: Int64]] = state.withLock { state in
            var grouped: [Int: [Int32: Int64]] = [:]
            for (shard, epoch) in state.ownership.owned { grouped[state.placement(of: shard), default: [:]][Int32(shard)] = epoch }
            return grouped
        }
        let message = "no progress for \(Int(timeout.seconds)) s (--scan-stall-timeout): failed by the console"
        for (placement, fences) in byPlacement {
            let store = placements[min(placement, placements.count - 1)]
            guard let failed = try await store.failStalledScans(
                fences: fences, before: now.advanced(by: .zero - timeout).date, at: now.date, message: message)
            else {
                // A shard moved meanwhile: the next map read settles which; retried next sweep.
                continue
            }
            if !failed.isEmpty {
                metrics.scansStalled.increment(by: failed.count)
                logger.warning("scans without progress were failed", metadata: ["count": "\(failed.count)", "setting": "--scan-stall-timeout"])
            }
        }
    }
}
