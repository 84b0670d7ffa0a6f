import Foundation
import IngestCore

/// The system's wall clock.
public struct SystemClock: IngestClock {
    public init() {}

    public func now() -> Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

/// A clock moved by hand, for tests of liveness and sampling.
public final class ManualClock: IngestClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Timestamp

    public init(_ start: Timestamp) { current = start }

    public func now() -> Timestamp { lock.withLock { current } }

    /// Moves the clock forward.
    public func advance(by duration: Duration) {
        lock.withLock { current = current.advanced(by: duration) }
    }
}

extension Timestamp {
    /// The timestamp as a Foundation date (what the database layer binds).
    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// The timestamp of a Foundation date.
    public init(_ date: Date) { self.init(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) }
}
