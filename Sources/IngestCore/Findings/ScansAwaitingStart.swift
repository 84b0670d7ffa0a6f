/// The scans handed to one sensor that it has not yet reported on.
///
/// ## Overview
/// A sensor's `available_workload` counts the scans it runs. A scan delivered on one poll is
/// not running yet when the sensor polls again a moment later, so the sensor still offers that
/// slot; handing out another scan into it would run more than the sensor allows. Each delivered
/// scan therefore holds a slot here from delivery until the sensor reports anything about it (a
/// status or a finding), after which the sensor's own count includes it. A scan the sensor never
/// reports on holds its slot until `timeout` (the scan stall timeout, after which the console
/// fails the scan anyway).
///
/// Choice: while a started scan's first status is still on its way, it is counted by both the
/// sensor and here, so a slot can stay unused for a few seconds; never the other way round.
public struct ScansAwaitingStart: Sendable, Hashable {
    private var handedOut: [String: Timestamp] = [:]

    public init() {}

    /// Scans held, whatever their age.
    public var count: Int { handedOut.count }

    public var isEmpty: Bool { handedOut.isEmpty }

    /// Records scans delivered at `now`.
    public mutating func delivered<IDs: Sequence<String>>(_ scanIDs: IDs, at now: Timestamp) {
        for id in scanIDs { handedOut[id] = now }
    }

    /// Records scans delivered at known times (loaded when a shard is claimed).
    public mutating func delivered(_ scanID: String, at time: Timestamp) {
        handedOut[scanID] = max(handedOut[scanID] ?? time, time)
    }

    /// The sensor reported on these scans: they are in its own count from now on.
    public mutating func reported<IDs: Sequence<String>>(_ scanIDs: IDs) {
        for id in scanIDs { handedOut[id] = nil }
    }

    /// Drops scans delivered more than `timeout` before `now` and returns the slots still held.
    /// A timeout of zero (no stall timeout) holds slots until the sensor reports.
    public mutating func held(at now: Timestamp, timeout: Duration) -> Int {
        if timeout > .zero {
            let oldest = now.advanced(by: .zero - timeout)
            handedOut = handedOut.filter { $0.value > oldest }
        }
        return handedOut.count
    }
}
