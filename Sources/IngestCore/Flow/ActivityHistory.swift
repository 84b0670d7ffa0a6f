/// Reports committed and refused over the last hour, per minute, from the workers' running
/// totals sampled every few seconds: what the web console's overview charts.
///
/// A sample holds the totals summed over the workers that answered; a minute's rate is the growth
/// of the totals across it. A worker that restarts starts its totals from zero again, and one that
/// stops answering drops out of the sum: either makes the sum fall, and a fall is counted as no
/// growth rather than as negative reports.
public struct ActivityHistory: Sendable {
    /// One minute's counts.
    public struct Minute: Sendable, Hashable {
        /// The minute's start, in milliseconds since the epoch.
        public var start: Int64
        public var committed: Int
        public var refused: Int
    }

    /// Minutes kept (the chart's width).
    public let minutes: Int
    private(set) var buckets: [Minute] = []
    private var last: (committed: Int, refused: Int)?

    public init(minutes: Int = 60) {
        precondition(minutes > 0)
        self.minutes = minutes
    }

    /// Adds a sample of the totals taken at `now` (milliseconds since the epoch).
    public mutating func record(committed: Int, refused: Int, now: Int64) {
        defer { last = (committed, refused) }
        guard let last else { return }
        let start = now - now % 60_000
        let grown = (max(committed - last.committed, 0), max(refused - last.refused, 0))
        if let index = buckets.indices.last, buckets[index].start == start {
            buckets[index].committed += grown.0
            buckets[index].refused += grown.1
        } else {
            buckets.append(Minute(start: start, committed: grown.0, refused: grown.1))
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
            return byStart[start] ?? Minute(start: start, committed: 0, refused: 0)
        }
    }
}
