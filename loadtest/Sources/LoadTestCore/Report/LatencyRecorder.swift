import Histogram
import Synchronization

/// Latency percentiles per request kind, in microseconds, with HdrHistogram (3 significant
/// digits, 1 µs to 10 minutes; 2 for a run's seconds), safe to record into from any thread.
public final class LatencyRecorder: Sendable {
    public typealias HDR = Histogram<UInt64>

    let histograms = Mutex<[String: HDR]>([:])

    public init() {}

    static func makeHistogram() -> HDR {
        HDR(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// A histogram of one second of a run, or of a window merged from such seconds: 2
    /// significant digits (1 %), a tenth of the memory of 3 (≈ 17 KB instead of 167 KB). A run
    /// keeps three per second, which at 3 digits held 500 KB per second of the run (630 MB for
    /// a 21-minute run).
    static func makeSecondHistogram() -> HDR {
        HDR(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .two)
    }

    /// Records one request of `kind` that took `duration`.
    public func record(_ kind: String, _ duration: Duration) {
        let micros = UInt64(max(1, duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
        histograms.withLock { all in
            if all[kind] == nil { all[kind] = Self.makeHistogram() }
            all[kind]!.record(min(micros, 600_000_000))
        }
    }

    /// The percentiles of one kind.
    public func summary(_ kind: String) -> LatencySummary? {
        histograms.withLock { all in all[kind].map(LatencySummary.init) }
    }

    /// Every kind's percentiles.
    public func summaries() -> [String: LatencySummary] {
        histograms.withLock { all in all.mapValues(LatencySummary.init) }
    }

    /// Takes the histograms recorded so far and starts new ones (for per-interval figures).
    public func drain() -> [String: LatencySummary] {
        histograms.withLock { all in
            defer { all = [:] }
            return all.mapValues(LatencySummary.init)
        }
    }
}

/// Latency percentiles, microseconds.
public struct LatencySummary: Sendable, Codable, Hashable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    public var mean: Double

    init(_ histogram: LatencyRecorder.HDR) {
        count = histogram.totalCount
        p50 = histogram.valueAtPercentile(50)
        p90 = histogram.valueAtPercentile(90)
        p99 = histogram.valueAtPercentile(99)
        p999 = histogram.valueAtPercentile(99.9)
        max = histogram.max
        mean = histogram.mean
    }

    public init(count: UInt64, p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64, max: UInt64, mean: Double) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }
}
