/// A point in wall-clock time, in milliseconds since the Unix epoch.
///
/// Core logic takes `now:` as a `Timestamp` instead of reading a clock, so liveness, beat-rate
/// and membership decisions are tested on a fake clock without sleeping.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The timestamp `seconds` after the epoch.
    public init(seconds: Double) { self.milliseconds = Int64((seconds * 1000).rounded()) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// This timestamp moved by `duration`.
    public func advanced(by duration: Duration) -> Timestamp {
        Timestamp(milliseconds: milliseconds + duration.milliseconds)
    }

    /// The duration from `other` to this timestamp.
    public func since(_ other: Timestamp) -> Duration { .milliseconds(milliseconds - other.milliseconds) }

    public var description: String { "\(milliseconds)ms" }
}

extension Duration {
    /// The duration in whole milliseconds (rounded down).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
