import Foundation
import IngestCore
import IngestStorage
import Logging
import ServiceLifecycle
import Synchronization

/// The shard worker: owns a set of shards and, for their nodes, keeps the last snapshot, pending
/// commands and liveness in memory; writes only what changed, in fenced batches; acknowledges
/// after commit.
///
/// ## Overview
/// - ``submit(_:shard:epoch:completion:)`` checks that the worker owns the shard at that epoch
///   and that the backlog has room (503 otherwise), then queues the report on the write lane of
///   its shard. Each lane writes one batch at a time (see `Worker+Writing.swift`).
/// - ``controls(_:shard:epoch:completion:)`` answers from memory; only handing out a command
///   touches the database, to mark it delivered before the sensor sees it.
/// - Background loops heartbeat the member row, follow the shard map and claim new shards by
///   raising their epochs, sweep liveness and keep the change-log partitions.
public final class Worker: ShardOwner, Service {
    struct NodeEntry {
        var shard: Int
        var kind: NodeKind
        var liveness: NodeLiveness
        var lastReportID: String?
        var commands: [AgentCommand] = []
        /// Scans handed out that the sensor has not reported on: they hold workload slots.
        var awaitingStart = ScansAwaitingStart()
    }

    struct State {
        /// The shards served, at which epochs, and the worker's phase.
        var ownership: ShardOwnership
        /// The placement of each shard (fixed at cluster creation; read with the map).
        var placementOf: [Int] = []
        var nodes: [String: NodeEntry] = [:]
        var beatRate: BeatRateController
        /// Reports accepted and not yet answered.
        var pending = 0
        var stats = WorkerStats()

        func placement(of shard: Int) -> Int { placementOf.indices.contains(shard) ? placementOf[shard] : 0 }
    }

    public let configuration: WorkerConfiguration
    /// This run of the worker: a new value every start, so the coordinator can fence a previous run.
    public let incarnation: Int64
    /// The placement databases, by placement number.
    let placements: [PlacementStore]
    let catalog: CatalogStore
    let clock: any IngestClock
    /// Write lanes per placement, `writeLanes` each (``lane(shard:placement:)``).
    let lanes: [[WriteLane]]
    /// Findings lanes per placement, `findingsLanes` each.
    let findingsLanes: [[WriteLane]]
    let state: Mutex<State>
    let metrics = WorkerMetrics()
    let logger: Logger
    /// Whether a map read runs, and whether another was asked for meanwhile.
    let following = Mutex<(running: Bool, again: Bool)>((false, false))
    /// Fired when the worker begins to drain (``beginShutdown()``): the background loops that stop
    /// then wake.
    let draining = Latch()
    /// Fired once the lanes are written out after shutdown began: the heartbeat loop ends.
    let stopped = Latch()

    /// A worker writing to `placements` (indexed by placement number; one for all-in-one).
    public init(
        configuration: WorkerConfiguration, catalog: CatalogStore, placements: [PlacementStore],
        clock: any IngestClock = SystemClock(), logger: Logger
    ) {
        precondition(!placements.isEmpty, "a worker needs at least one placement")
        self.configuration = configuration
        self.catalog = catalog
        self.placements = placements
        self.clock = clock
        self.logger = logger
        let incarnation = Int64(Date().timeIntervalSince1970 * 1_000_000) ^ Int64.random(in: 0..<(1 << 20))
        self.incarnation = incarnation
        self.lanes = placements.map { store in
            (0..<configuration.writeLanes).map { WriteLane(index: $0, store: store) }
        }
        self.findingsLanes = placements.map { store in
            (0..<configuration.findingsLanes).map { WriteLane(index: configuration.writeLanes + $0, store: store) }
        }
        self.state = Mutex(State(
            ownership: ShardOwnership(memberID: configuration.memberID, incarnation: incarnation),
            beatRate: BeatRateController(configuration: configuration.beatRate)))
    }

    /// The lane that writes `shard`'s reports (``ShardMap/lane(of:placements:lanes:)``).
    func lane(shard: Int, placement: Int) -> WriteLane {
        let perPlacement = lanes[min(placement, lanes.count - 1)]
        return perPlacement[ShardMap.lane(of: shard, placements: placements.count, lanes: perPlacement.count)]
    }

    /// The store of `shard`'s placement.
    func store(of shard: Int) -> PlacementStore {
        placements[min(state.withLock { $0.placement(of: shard) }, placements.count - 1)]
    }

    /// Every write lane.
    var allLanes: [WriteLane] { lanes.flatMap { $0 } + findingsLanes.flatMap { $0 } }

    /// The lane that writes `shard`'s findings.
    func findingsLane(shard: Int, placement: Int) -> WriteLane {
        let perPlacement = findingsLanes[min(placement, findingsLanes.count - 1)]
        return perPlacement[ShardMap.lane(of: shard, placements: placements.count, lanes: perPlacement.count)]
    }

    // MARK: ShardOwner

    public func submit(
        _ report: ParsedReport, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void
    ) {
        let now = clock.now()
        let capacity = configuration.maxPendingReports
        enum Decision {
            case refuse(IngestError)
            case duplicate(beatRate: Int)
            case enqueue(beatRate: Int, placement: Int)
        }
        let decision: Decision = state.withLock { state in
            if let failure = state.refusal(shard: shard, epoch: epoch) {
                if failure.code == .shardMoved { state.stats.reportsFenced += 1 }
                return .refuse(failure)
            }
            let beatRate = max(state.beatRate.observe(backlog: state.pending, capacity: capacity, now: now), allowedFloor(report.beatFloor))
            if let id = report.reportID, state.nodes[report.nodeID]?.lastReportID == id {
                state.stats.duplicatesAcknowledged += 1
                _ = state.nodes[report.nodeID]!.liveness.beat(at: now, beatRate: beatRate)
                return .duplicate(beatRate: beatRate)
            }
            guard state.pending < capacity else {
                state.stats.reportsShed += 1
                return .refuse(.overloaded)
            }
            state.pending += 1
            return .enqueue(beatRate: beatRate, placement: state.placement(of: shard))
        }
        switch decision {
        case .refuse(let error):
            if error.code == .overloaded { metrics.shed.increment() }
            if error.code == .shardMoved { metrics.fenced.increment() }
            completion(.failure(error))
        case .duplicate(let beatRate):
            // A resend of the last committed report: acknowledged without a write.
            metrics.duplicates.increment()
            completion(.success(beatRate))
        case .enqueue(let beatRate, let placement):
            let item = LaneItem(report: report, shard: shard, epoch: epoch, beatRate: beatRate, completion: completion)
            if !lane(shard: shard, placement: placement).enqueue(item) {
                state.withLock { $0.pending -= 1 }
                completion(.failure(.unavailable))
            }
        }
    }

    public func controls(
        _ request: ControlsRequest, shard: Int, epoch: Int64,
        completion: @escaping @Sendable (Result<AgentControls, IngestError>) -> Void
    ) {
        let now = clock.now()
        let kind: NodeKind = request.route == .kubernetesCluster ? .kubernetesCluster : .host
        let decision: Result<(beatRate: Int, deliver: [AgentCommand]), IngestError> = state.withLock { state in
            if let failure = state.refusal(shard: shard, epoch: epoch) { return .failure(failure) }
            let beatRate = max(state.beatRate.beatRate, allowedFloor(request.beatFloor))
            // The entry is changed in place: a poll is the most frequent request, and a copy of
            // the entry out and back cost two lookups and a retain of everything it holds.
            return .success(Self.poll(
                &state.nodes[request.nodeID, default: NodeEntry(shard: shard, kind: kind, liveness: NodeLiveness(lastBeat: now, beatRate: beatRate))],
                availableWorkload: request.availableWorkload, beatRate: beatRate, at: now, stallTimeout: configuration.scanStallTimeout))
        }
        switch decision {
        case .failure(let error):
            completion(.failure(error))
        case .success(let answer) where answer.deliver.isEmpty:
            completion(.success(AgentControls(beatRate: answer.beatRate, commands: [])))
        case .success(let answer):
            Task { await self.deliver(answer.deliver, to: request.nodeID, shard: shard, epoch: epoch,
                                      beatRate: answer.beatRate, at: now, completion: completion) }
        }
    }

    /// Marks commands delivered in the database, then hands out the ones this call marked.
    /// Choice: a command is marked before the sensor receives it, so it is never run twice; if
    /// the answer is lost on the wire after the commit, the command is not re-sent (at most once
    /// across such a failure; exactly once otherwise), and the operator sees it delivered.
    func deliver(
        _ commands: [AgentCommand], to nodeID: String, shard: Int, epoch: Int64, beatRate: Int, at now: Timestamp,
        completion: @escaping @Sendable (Result<AgentControls, IngestError>) -> Void
    ) async {
        do {
            guard let marked = try await store(of: shard).markDelivered(commands.map(\.commandID), shard: shard, epoch: epoch, at: now.date)
            else {
                lost(shards: [shard: epoch])
                completion(.failure(.shardMoved))
                return
            }
            let delivered = commands.filter { marked.commands.contains($0.commandID) }
            // Scans whose command someone else marked, or whose row is no longer queued, hold no slot.
            let notStarted = Set(Self.startedScans(commands)).subtracting(marked.scans)
            state.withLock { state in
                state.stats.commandsDelivered += delivered.count
                if !notStarted.isEmpty { state.nodes[nodeID]?.awaitingStart.reported(notStarted) }
            }
            metrics.commandsDelivered.increment(by: delivered.count)
            completion(.success(AgentControls(beatRate: beatRate, commands: delivered)))
        } catch {
            // Not marked: put them back in front, in order, for the next poll.
            state.withLock { state in
                guard state.nodes[nodeID] != nil else { return }
                state.nodes[nodeID]!.commands.insert(contentsOf: commands, at: 0)
                state.nodes[nodeID]!.awaitingStart.reported(Self.startedScans(commands))
            }
            logger.warning("could not mark commands delivered", metadata: ["node": "\(nodeID)", LogKey.error: "\(redacted(error))"])
            completion(.failure(.unavailable))
        }
    }

    /// A poll of `node`: its liveness beat, and the commands it is handed (those its free
    /// workload slots allow); the rest stay queued.
    static func poll(
        _ node: inout NodeEntry, availableWorkload: Int, beatRate: Int, at now: Timestamp, stallTimeout: Duration
    ) -> (beatRate: Int, deliver: [AgentCommand]) {
        _ = node.liveness.beat(at: now, beatRate: beatRate)
        let held = node.awaitingStart.held(at: now, timeout: stallTimeout)
        let (deliver, keep) = CommandSelection.select(node.commands, availableWorkload: availableWorkload, awaitingStart: held)
        node.commands = keep
        node.awaitingStart.delivered(startedScans(deliver), at: now)
        return (beatRate, deliver)
    }

    /// The scans that these commands start (stop commands name scans too, and take no slot).
    static func startedScans(_ commands: [AgentCommand]) -> [String] {
        commands.filter { CommandSelection.needsWorkload($0.actionID) }.compactMap { ScanID.named(inPayload: $0.requestPayload) }
    }

    public func queueCommand(nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String) async throws
        -> AgentCommand
    {
        if let failure = state.withLock({ $0.refusal(shard: shard, epoch: epoch) }) { throw failure }
        guard let record = try await store(of: shard).queueCommand(
            nodeID: nodeID, shard: shard, epoch: epoch, actionID: actionID, requestPayload: requestPayload)
        else {
            lost(shards: [shard: epoch])
            throw IngestError.shardMoved
        }
        let command = AgentCommand(commandID: record.id, actionID: actionID, requestPayload: requestPayload)
        remember(command, for: nodeID, shard: shard, at: clock.now())
        return command
    }

    /// Keeps a stored command in memory for the node's next poll.
    func remember(_ command: AgentCommand, for nodeID: String, shard: Int, at now: Timestamp) {
        state.withLock { state in
            if state.nodes[nodeID] == nil {
                state.nodes[nodeID] = NodeEntry(
                    shard: shard, kind: .host, liveness: NodeLiveness(lastBeat: now, beatRate: state.beatRate.beatRate, isOnline: false))
            }
            state.nodes[nodeID]!.commands.append(command)
        }
    }

    // MARK: Introspection

    /// The worker's counters.
    public var stats: WorkerStats { state.withLock { $0.stats } }

    /// The shards owned now, with their epochs.
    public var ownedShards: [Int: Int64] { state.withLock { $0.ownership.owned } }

    /// Whether the worker has loaded its first assignment and is not draining (`/readyz`).
    public var isReady: Bool { state.withLock { $0.ownership.isReady } }

    /// The worker's phase.
    public var phase: ShardOwnership.Phase { state.withLock { $0.ownership.phase } }

    /// Reports accepted and not yet answered.
    public var backlog: Int { state.withLock { $0.pending } }

    /// A gateway's beat floor (the cluster's beat), held to this worker's `--max-beat-rate` (a
    /// coordinator set higher does not stretch sensors past what the worker was told to allow).
    func allowedFloor(_ beatFloor: Int) -> Int { min(beatFloor, configuration.beatRate.maximumBeatRate) }

    /// The worker's counters as the operator API shows them: with its ID, beat rate, backlog and
    /// the nodes of its shards it holds state for.
    public var statsJSON: String {
        let (stats, beatRate, backlog, nodes) = state.withLock { ($0.stats, $0.beatRate.beatRate, $0.pending, $0.nodes.count) }
        return stats.json(memberID: configuration.memberID, beatRate: beatRate, backlog: backlog, nodes: nodes)
    }

    /// The beat rate this worker's own controller hands out now (a gateway's ``ParsedReport/beatFloor`` aside).
    public var currentBeatRate: Int { state.withLock { $0.beatRate.beatRate } }

    /// Approximate bytes the in-memory snapshots take.
    public var snapshotMemory: Int {
        allLanes.reduce(0) { total, lane in
            total + lane.nodes.withLock { $0.values.reduce(0) { $0 + $1.snapshot.memoryFootprint } }
        }
    }
}

extension Worker.State {
    /// Why a request for `shard` at `epoch` cannot be served here, if it cannot.
    func refusal(shard: Int, epoch: Int64) -> IngestError? {
        ownership.refusal(shard: shard, epoch: epoch)
    }

    /// Whether `shard` is served at `epoch`.
    func owns(_ shard: Int, at epoch: Int64) -> Bool { ownership.owned[shard] == epoch }
}
