import IngestCore
import IngestStorage
import Synchronization

/// A report waiting in a write lane.
struct LaneItem: Sendable {
    let report: ParsedReport
    let shard: Int
    let epoch: Int64
    /// The beat rate to answer with once committed.
    let beatRate: Int
    let completion: @Sendable (Result<Int, IngestError>) -> Void
}

/// A node's findings, scan statuses or cloud resources waiting in a write lane.
struct FindingsItem: Sendable {
    let part: FindingsPart
    let shard: Int
    let epoch: Int64
    /// Completed with the number of records once committed.
    let completion: @Sendable (Result<Int, IngestError>) -> Void
}

/// What a lane writes next: reports, and findings (each kind in its own fenced transaction).
struct LaneBatch: Sendable {
    var reports: [LaneItem]
    var findings: [FindingsItem]
}

/// What a lane remembers of a node between reports: the snapshot its next report is diffed
/// against, the last committed report ID, the row's `state_version` that snapshot is of, and
/// when its metrics were last sampled.
struct LaneNode: Sendable {
    var shard: Int
    var snapshot: NodeSnapshot
    var lastReportID: String?
    var version: Int64
    var lastSample: Timestamp?
}

/// One write lane: a queue of reports and the per-node state of the nodes whose shards map to
/// it. A lane writes one batch at a time, so a node's reports are written in order.
final class WriteLane: Sendable {
    struct Queue {
        var items: [LaneItem] = []
        var head = 0
        var findings: [FindingsItem] = []
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false

        var count: Int { items.count - head + findings.count }

        /// Up to `limit` reports and up to `limit` findings items.
        mutating func takeBatch(_ limit: Int) -> LaneBatch {
            let reports = take(limit)
            let taken = Array(findings.prefix(limit))
            findings.removeFirst(taken.count)
            return LaneBatch(reports: reports, findings: taken)
        }

        mutating func take(_ limit: Int) -> [LaneItem] {
            let end = min(items.count, head + limit)
            let taken = Array(items[head..<end])
            head = end
            // Release what was taken: each item holds its report's bytes. Emptied, the queue
            // starts a new buffer: a batch of the whole queue shares the old one, so emptying it
            // "keeping capacity" allocated a buffer of the queue's largest size for every batch.
            if head == items.count {
                items = []
                head = 0
            } else if head >= 32 {
                items.removeFirst(head)
                head = 0
            }
            return taken
        }
    }

    let index: Int
    /// The placement this lane writes to.
    let store: PlacementStore
    let queue = Mutex(Queue())
    let nodes = Mutex<[String: LaneNode]>([:])
    /// What the lane is doing and since when (a stalled lane is logged by the sweep).
    let activity = Mutex<(step: String, since: ContinuousClock.Instant)>(("idle", .now))
    /// Days whose change-log partitions this lane knows exist.
    let partitionDays = Mutex<Set<Int64>>([])

    init(index: Int, store: PlacementStore) {
        self.index = index
        self.store = store
    }

    /// Adds an item; false once the lane is closed.
    func enqueue(_ item: LaneItem) -> Bool {
        let waiter: CheckedContinuation<Void, Never>?
        let accepted: Bool
        (accepted, waiter) = queue.withLock { queue in
            guard !queue.closed else { return (false, nil) }
            queue.items.append(item)
            defer { queue.waiter = nil }
            return (true, queue.waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// Adds a findings item; false once the lane is closed.
    func enqueue(_ item: FindingsItem) -> Bool {
        let (accepted, waiter) = queue.withLock { queue -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !queue.closed else { return (false, nil) }
            queue.findings.append(item)
            defer { queue.waiter = nil }
            return (true, queue.waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// Puts items back at the front of the queue (they are written in the next batch).
    func requeueFront(_ items: [LaneItem]) {
        guard !items.isEmpty else { return }
        queue.withLock { queue in
            queue.items.replaceSubrange(queue.head..<queue.head, with: items)
        }
    }

    /// Stops accepting; the lane still writes what it holds.
    func close() {
        let waiter = queue.withLock { queue -> CheckedContinuation<Void, Never>? in
            queue.closed = true
            defer { queue.waiter = nil }
            return queue.waiter
        }
        waiter?.resume()
    }

    /// Records the step the lane is at.
    func at(_ step: String) { activity.withLock { $0 = (step, .now) } }

    /// Items waiting.
    var depth: Int { queue.withLock { $0.count } }

    /// Waits for items and returns up to `limit` of them, after lingering briefly for more;
    /// nil once closed and empty.
    func nextBatch(limit: Int, linger: Duration) async -> LaneBatch? {
        while true {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = queue.withLock { queue -> Bool in
                    if queue.count > 0 || queue.closed { return true }
                    queue.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            let (count, closed) = queue.withLock { ($0.count, $0.closed) }
            if count == 0 {
                if closed { return nil }
                continue
            }
            if count < limit && linger > .zero && !closed {
                try? await Task.sleep(for: linger)
            }
            return queue.withLock { $0.takeBatch(limit) }
        }
    }

    /// Forgets the nodes of the given shards (after losing them).
    func forget(shards: Set<Int>) {
        nodes.withLock { nodes in nodes = nodes.filter { !shards.contains($0.value.shard) } }
    }

    /// Forgets the given nodes (after they expired).
    func forget(nodes ids: [String]) {
        nodes.withLock { nodes in
            for id in ids { nodes.removeValue(forKey: id) }
        }
    }
}
