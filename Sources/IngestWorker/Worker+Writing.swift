import Foundation
import IngestCore
import IngestStorage
import IngestTransport

extension Worker {
    /// Writes the lane's batches until the lane is closed and drained.
    func runLane(_ lane: WriteLane) async {
        while let batch = await lane.nextBatch(limit: configuration.maxBatchReports, linger: configuration.batchLinger) {
            if !batch.reports.isEmpty { await write(batch.reports, lane: lane) }
            if !batch.findings.isEmpty { await write(batch.findings, lane: lane) }
            lane.at("idle")
        }
        lane.at("stopped")
    }

    /// Writes one batch: diff, one fenced transaction, then acknowledge. Items on shards that
    /// moved fail with 503 (the sensor resends next beat); a batch the database refuses for its
    /// data is retried report by report so one bad report cannot sink the others; a batch with
    /// nodes whose rows moved on since the lane read them is re-read and diffed again
    /// (`reread` times at most, then answered 503).
    func write(_ items: [LaneItem], lane: WriteLane, reread: Int = 1) async {
        let now = clock.now()
        // Nodes this lane has no state for (first report since start or since the shard came here).
        let known = lane.nodes.withLock { nodes in Set(items.map(\.report.nodeID).filter { nodes[$0] != nil }) }
        let unknown = Array(Set(items.map(\.report.nodeID)).subtracting(known))
        if !unknown.isEmpty {
            lane.at("loading node state")
            do {
                let store = lane.store
                // A node without a row has no entities either (both are written in one
                // transaction): new hosts skip the entity query. That query also risks a parallel
                // sequential scan while tables grow faster than autovacuum analyzes them (seen
                // during a ramp of 10,000 new hosts).
                let loaded = try await withDeadline(configuration.commitTimeout) {
                    let records = Dictionary(try await store.nodes(named: unknown).map { ($0.nodeID, $0) }, uniquingKeysWith: { $1 })
                    return (records, try await store.snapshots(of: unknown.filter { records[$0] != nil }))
                }
                guard let (records, snapshots) = loaded else { throw IngestError.commitTimeout }
                lane.nodes.withLock { nodes in
                    for item in items where unknown.contains(item.report.nodeID) {
                        let id = item.report.nodeID
                        guard nodes[id] == nil else { continue }
                        nodes[id] = LaneNode(
                            shard: item.shard, snapshot: snapshots[id] ?? NodeSnapshot(),
                            lastReportID: records[id]?.lastReportID, version: records[id]?.stateVersion ?? 0, lastSample: nil)
                    }
                }
            } catch {
                logger.warning("could not load node state", metadata: [LogKey.error: "\(redacted(error))"])
                finish(items, with: .failure(.unavailable))
                return
            }
        }
        let current = lane.nodes.withLock { nodes in
            Dictionary(items.compactMap { item in nodes[item.report.nodeID].map { (item.report.nodeID, $0) } },
                       uniquingKeysWith: { first, _ in first })
        }
        var builder = BatchBuilder(now: now, sampleInterval: configuration.metricSampleInterval)
        builder.add(items, current: current)
        lane.requeueFront(builder.deferred)
        finish(builder.superseded, with: .failure(.shardMoved))
        guard !builder.writing.isEmpty else {
            finishCommitted(builder.duplicates, writes: [], rows: 0, changes: 0, samples: 0)
            return
        }
        do {
            lane.at("writing a batch")
            try await ensurePartition(for: now, lane: lane)
            let started = ContinuousClock.now
            let store = lane.store
            let batch = builder.write
            guard let outcome = try await withDeadline(configuration.commitTimeout, { try await store.write(batch) }) else {
                // The transaction did not finish in time: its outcome is unknown (it may still
                // commit), so the lane forgets these nodes' snapshots and re-reads them next time.
                logger.warning("a batch write did not finish in time; its reports are answered in doubt",
                               metadata: ["reports": "\(builder.writing.count)", "setting": "--commit-timeout"])
                lane.forget(nodes: builder.writing.map(\.report.nodeID))
                finish(builder.writing + builder.duplicates, with: .failure(.commitTimeout))
                return
            }
            metrics.batchDuration.recordNanoseconds(Int64((ContinuousClock.now - started).milliseconds * 1_000_000))
            switch outcome {
            case .committed:
                lane.nodes.withLock { nodes in nodes.merge(builder.next) { _, new in new } }
                finishCommitted(
                    builder.writing + builder.duplicates, writes: builder.writing, rows: builder.write.entityRowCount,
                    changes: builder.write.changes.count + builder.write.deletions.values.reduce(0) { $0 + $1.count },
                    samples: builder.write.sampleNodeIDs.count)
            case .stale(let shards):
                let staleShards = Set(shards.map(Int.init))
                lost(shards: Dictionary(
                    builder.writing.filter { staleShards.contains($0.shard) }.map { ($0.shard, $0.epoch) },
                    uniquingKeysWith: { $1 }))
                let moved = (builder.writing + builder.duplicates).filter { staleShards.contains($0.shard) }
                finish(moved, with: .failure(.shardMoved))
                let remaining = (builder.writing + builder.duplicates).filter { !staleShards.contains($0.shard) }
                if !remaining.isEmpty { await write(remaining, lane: lane, reread: reread) }
            }
        } catch let outdated as PlacementStore.OutdatedNodes {
            // A write of these nodes answered in doubt (its commit timed out) committed after
            // the lane re-read them: the diffs were made against state that is gone.
            logger.warning("node rows moved on since they were read; reading them again",
                           metadata: ["nodes": "\(outdated.nodeIDs.count)", "retry": "\(reread > 0)"])
            lane.forget(nodes: outdated.nodeIDs)
            let retrying = builder.writing + builder.duplicates
            if reread > 0 { await write(retrying, lane: lane, reread: reread - 1) } else { finish(retrying, with: .failure(.unavailable)) }
        } catch {
            let retryable = builder.writing + builder.duplicates
            switch failure(error, items: retryable.count, node: retryable.first?.report.nodeID, what: "report") {
            case .oneByOne: for item in retryable { await write([item], lane: lane) }
            case .refused(let refusal): finish(retryable, with: .failure(refusal))
            }
        }
    }

    /// What a failed write does next.
    enum WriteFailure {
        /// The database refused the batch for its data: write its items one at a time, so one
        /// bad item cannot sink the others.
        case oneByOne
        /// Answer the items with this error (a single item refused for its data, or the
        /// database unreachable).
        case refused(IngestError)
    }

    /// Logs a failed write of `items` (of `what`: reports, findings) and says what to do.
    func failure(_ error: any Error, items: Int, node: String?, what: String) -> WriteFailure {
        if let mismatch = error as? PlacementStore.ScanKindMismatch {
            if items > 1 { return .oneByOne }
            logger.warning("records name a scan of another kind", metadata: ["node": "\(node ?? "")", "scan": "\(mismatch.scanID)"])
            return .refused(.invalidRequest(
                "scan \(mismatch.scanID) is a \(mismatch.stored) scan; \(mismatch.sent) records cannot name it; nothing of the request was written"))
        }
        // An answer already decided (and logged) where it was thrown: a partition call past
        // --commit-timeout.
        if let refusal = error as? IngestError { return .refused(refusal) }
        let state = sqlState(of: error) ?? ""
        if isDataError(error) && items > 1 {
            logger.warning("a batch was refused for its data; writing its items one by one",
                           metadata: ["items": "\(items)", "of": "\(what)", "sqlstate": "\(state)"])
            return .oneByOne
        }
        if isDataError(error) {
            logger.warning("an item could not be stored", metadata: ["of": "\(what)", "node": "\(node ?? "")", "sqlstate": "\(state)"])
            return .refused(.invalidRequest("the \(what) could not be stored (SQLSTATE \(state.isEmpty ? "?" : state)); nothing of it was written"))
        }
        logger.warning("batch write failed", metadata: ["of": "\(what)", LogKey.error: "\(redacted(error))"])
        return .refused(.unavailable)
    }

    /// Creates the change-log partition of `now`'s day once per lane and day, within
    /// `--commit-timeout` like the lane's other database calls: on a connection that died
    /// without the client noticing (a placement restarted, a worker resumed from SIGSTOP) the
    /// call never returned, and held its lane, and a drain on SIGTERM, for good.
    func ensurePartition(for now: Timestamp, lane: WriteLane) async throws {
        let day = now.milliseconds / 86_400_000
        guard !lane.partitionDays.withLock({ $0.contains(day) }) else { return }
        let store = lane.store
        guard try await withDeadline(configuration.commitTimeout, { try await store.ensurePartitions(for: [now.date]) }) != nil else {
            // Answered 503 commit_timeout (nothing was written): not retried by the gateway, so
            // a stuck call is not started again for every retry, each holding a connection.
            logger.warning("creating a change-log partition did not finish in time", metadata: ["setting": "--commit-timeout"])
            throw IngestError.commitTimeout
        }
        lane.partitionDays.withLock { _ = $0.insert(day) }
    }

    /// Records committed reports in the registry and acknowledges them.
    func finishCommitted(_ items: [LaneItem], writes: [LaneItem], rows: Int, changes: Int, samples: Int) {
        let now = clock.now()
        metrics.reportsCommitted.increment(by: writes.count)
        metrics.duplicates.increment(by: items.count - writes.count)
        metrics.entityRows.increment(by: rows)
        metrics.changeRows.increment(by: changes)
        metrics.samples.increment(by: samples)
        if !writes.isEmpty {
            metrics.batches.increment()
            metrics.batchSize.record(writes.count)
        }
        // Sensors answered together come back together: spread the beats of a large batch.
        let spread = BeatSpread(configuration: configuration.beatSpread, baseBeatRate: configuration.beatRate.baseBeatRate)
        var generator = SystemRandomNumberGenerator()
        let beatRates = items.map { spread.beatRate($0.beatRate, batchSize: items.count, using: &generator) }
        let spreadCount = zip(items, beatRates).filter { $0.beatRate != $1 }.count
        metrics.beatsSpread.increment(by: spreadCount)
        state.withLock { state in
            state.pending -= items.count
            state.stats.reportsCommitted += writes.count
            state.stats.duplicatesAcknowledged += items.count - writes.count
            state.stats.entityRowsWritten += rows
            state.stats.changeRowsWritten += changes
            state.stats.samplesWritten += samples
            if !writes.isEmpty { state.stats.batchesCommitted += 1 }
            state.stats.beatsSpread += spreadCount
            for (item, beatRate) in zip(items, beatRates) {
                let report = item.report
                guard state.owns(item.shard, at: item.epoch) else { continue }
                if state.nodes[report.nodeID] == nil {
                    state.nodes[report.nodeID] = NodeEntry(
                        shard: item.shard, kind: report.nodeKind,
                        liveness: NodeLiveness(lastBeat: now, beatRate: beatRate))
                }
                state.nodes[report.nodeID]!.kind = report.nodeKind
                state.nodes[report.nodeID]!.lastReportID = report.reportID
                _ = state.nodes[report.nodeID]!.liveness.beat(at: now, beatRate: beatRate)
            }
        }
        for (item, beatRate) in zip(items, beatRates) { item.completion(.success(beatRate)) }
    }

    /// Answers items that were not committed.
    func finish(_ items: [LaneItem], with result: Result<Int, IngestError>) {
        guard !items.isEmpty else { return }
        if case .failure(let error) = result {
            if error.code == .shardMoved { metrics.fenced.increment(by: items.count) } else { metrics.failed.increment(by: items.count) }
        }
        state.withLock { $0.pending -= items.count }
        for item in items { item.completion(result) }
    }
}
