/// Reports committed and refused, and errors answered, over the last hour, per minute; and each
/// worker's reports per second over the last sample interval: what the web console's overview
/// charts and its cluster page lists, from the workers' running totals sampled every few seconds.
///
/// A minute's count is the growth of the totals across it, worker by worker. A worker whose
/// total falls has restarted and counts from zero again (its new total is its growth); one that
/// stops answering adds nothing until it answers again.
public struct ActivityHistory: Sendable {
    /// One worker's running totals at a sample.
    public struct WorkerTotals: Sendable, Hashable {
        public var id: String
        /// Reports committed.
        public var committed: Int
        /// Reports refused: shed for a full backlog, or fenced because their shard moved.
        public var refused: Int

        public init(id: String, committed: Int, refused: Int) {
            self.id = id
            self.committed = committed
            self.refused = refused
        }
    }

    /// One minute's counts.
    public struct Minute: Sendable, Hashable {
        /// The minute's start, in milliseconds since the epoch.
        public var start: Int64
        public var committed: Int
        public var refused: Int
        /// Errors this gateway answered (any route, any 4xx or 5xx).
        public var errors: Int
    }

    /// Minutes kept (the chart's width).
    public let minutes: Int
    private(set) var buckets: [Minute] = []
    /// Each worker's totals when last seen, and when.
    private var lastSeen: [String: (at: Int64, totals: WorkerTotals)] = [:]
    private var lastErrors: (at: Int64, total: Int)?
    /// Reports committed per second by worker, over the last interval.
    public private(set) var workerRates: [String: Double] = [:]

    public init(minutes: Int = 60) {
        precondition(minutes > 0)
        self.minutes = minutes
    }

    /// Adds a sample of the workers' totals and this gateway's error total, taken at `now`
    /// (milliseconds since the epoch). The first sample only sets the base.
    public mutating func record(workers: [WorkerTotals], errors: Int, now: Int64) {
        var committed = 0
        var refused = 0
        var rates: [String: Double] = [:]
        for worker in workers {
            defer { lastSeen[worker.id] = (now, worker) }
            guard let before = lastSeen[worker.id], now > before.at else { continue }
            let grown = worker.committed >= before.totals.committed ? worker.committed - before.totals.committed : worker.committed
            committed += grown
            refused += worker.refused >= before.totals.refused ? worker.refused - before.totals.refused : worker.refused
            rates[worker.id] = Double(grown) * 1000 / Double(now - before.at)
        }
        workerRates = rates
        defer { lastErrors = (now, errors) }
        guard let lastErrors, now > lastErrors.at else { return }
        let start = now - now % 60_000
        let failed = max(errors - lastErrors.total, 0)
        if let index = buckets.indices.last, buckets[index].start == start {
            buckets[index].committed += committed
            buckets[index].refused += refused
            buckets[index].errors += failed
        } else {
            buckets.append(Minute(start: start, committed: committed, refused: refused, errors: failed))
        }
        buckets.removeAll { $0.start <= start - Int64(minutes) * 60_000 }
    }

    /// The last `minutes` minutes up to the one holding `now`, oldest first, with a zero minute
    /// wherever nothing was recorded.
    public func series(now: Int64) -> [Minute] {
        let current = now - now % 60_000
        let byStart = Dictionary(buckets.map { ($0.start, $0) }, uniquingKeysWith: { first, _ in first })
        return (0..<minutes).reversed().map { back in
            let start = current - Int64(back) * 60_000
            return byStart[start] ?? Minute(start: start, committed: 0, refused: 0, errors: 0)
        }
    }
}
