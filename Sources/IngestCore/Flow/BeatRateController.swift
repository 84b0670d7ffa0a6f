/// Decides the beat rate (seconds between reports) the console hands to sensors, its only global
/// flow control.
///
/// ## Overview
/// Sensors send a full report every beat, poll for commands every half beat, and adopt whatever
/// `beatrate` the console answers. Two places watch the load, each with a controller of its own,
/// and a sensor is told the longer of their beats:
/// - a worker watches its backlog of uncommitted reports (``observe(backlog:capacity:now:)``):
///   a window is *overloaded* when the backlog stayed above ``Configuration/raiseAbove`` of its
///   capacity for the whole window (a burst that drains within the window does not slow the
///   fleet down), *clear* when it stayed under ``Configuration/lowerBelow``;
/// - the coordinator leader watches the requests every gateway forwards
///   (``observe(forwarded:refused:now:)``, through ``ClusterBeat``): a window is overloaded when
///   more than ``Configuration/refusedRaiseAbove`` of them were refused for load (a worker's
///   backlog full, too many requests outstanding to it, no answer within the forward deadline),
///   clear when fewer than ``Configuration/refusedLowerBelow`` were. This sees what a worker's
///   backlog does not: requests that queue before they reach the worker's logic, behind a
///   worker or a gateway that has no CPU left.
///
/// An overloaded window doubles the beat (up to ``Configuration/maximumBeatRate``), at most once
/// per half of the beat in force: sensors learn a new beat from their next answer, a poll at most
/// half a beat away, and doubling again before they have cannot tell whether the last step was
/// enough. A clear window lowers the beat by a quarter (down to ``Configuration/baseBeatRate``),
/// only once a whole beat has passed since the last change: by then every sensor has reported
/// at that beat, so the load it makes is the load measured. Doubling fast and easing slowly
/// settles near the beat the path sustains instead of swinging between the base and the
/// maximum; a raised beat takes several of its own beats to undo, which is why the maximum
/// (default 120 s, four base beats) bounds it.
///
/// A full backlog is not the controller's business: the worker answers `503` then, and sensors
/// retry after a random part of the beat.
///
/// ## Implementation
/// A value type fed with observations and a `now`; it never reads a clock.
public struct BeatRateController: Sendable {
    /// The controller's settings.
    public struct Configuration: Sendable, Hashable {
        /// The beat rate in a quiet console, seconds (`--beat-rate`, default 30).
        public var baseBeatRate: Int
        /// The highest beat rate the controller raises to, seconds (`--max-beat-rate`, default 120).
        public var maximumBeatRate: Int
        /// Backlog fraction above which the rate is raised (default 0.5).
        public var raiseAbove: Double
        /// Backlog fraction below which the rate is lowered (default 0.1).
        public var lowerBelow: Double
        /// Share of the gateways' forwarded requests refused for load above which the cluster's
        /// beat is raised (default 0.05).
        public var refusedRaiseAbove: Double
        /// Share below which it lowers it (default 0.01).
        public var refusedLowerBelow: Double
        /// Fewest forwarded requests in a window that can make it overloaded (default 20): a
        /// handful of refusals in a quiet window say nothing about the fleet.
        public var minimumRequests: Int
        /// How long each observation window lasts (default 10 s).
        public var window: Duration

        public init(
            baseBeatRate: Int = 30, maximumBeatRate: Int = 120, raiseAbove: Double = 0.5, lowerBelow: Double = 0.1,
            refusedRaiseAbove: Double = 0.05, refusedLowerBelow: Double = 0.01, minimumRequests: Int = 20,
            window: Duration = .seconds(10)
        ) {
            self.baseBeatRate = baseBeatRate
            self.maximumBeatRate = maximumBeatRate
            self.raiseAbove = raiseAbove
            self.lowerBelow = lowerBelow
            self.refusedRaiseAbove = refusedRaiseAbove
            self.refusedLowerBelow = refusedLowerBelow
            self.minimumRequests = minimumRequests
            self.window = window
        }

        /// The smallest beat rate ThreatMapper sensors survive: they divide it by two for their
        /// control-poll ticker, and a zero ticker panics.
        public static let minimumBeatRate = 2

        /// The beat in a quiet console: `baseBeatRate`, never under ``minimumBeatRate``.
        var quietBeatRate: Int { max(baseBeatRate, Self.minimumBeatRate) }

        /// Checks the settings; returns a message naming the bad setting.
        public func validate() -> String? {
            if baseBeatRate < Self.minimumBeatRate { return "--beat-rate must be at least \(Self.minimumBeatRate) seconds" }
            if maximumBeatRate < baseBeatRate { return "--max-beat-rate must be at least --beat-rate" }
            if !(0 < lowerBelow && lowerBelow < raiseAbove && raiseAbove <= 1)
                || !(0 < refusedLowerBelow && refusedLowerBelow < refusedRaiseAbove && refusedRaiseAbove <= 1)
            {
                return "beat-rate thresholds must satisfy 0 < lower < raise <= 1"
            }
            return nil
        }
    }

    /// What a window showed.
    enum Verdict: Sendable, Hashable { case overloaded, clear, neither }

    public let configuration: Configuration
    /// The beat rate currently handed out, seconds.
    public private(set) var beatRate: Int
    /// Whether the beat is above the base: the cluster's beat adds to the workers' only then.
    public var isRaised: Bool { beatRate > configuration.quietBeatRate }
    var windowStart: Timestamp?
    var lowestFraction: Double = .infinity
    var highestFraction: Double = 0
    var forwarded = 0
    var refused = 0
    /// When the beat last changed (nil: never).
    var changedAt: Timestamp?

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.beatRate = configuration.quietBeatRate
    }

    /// A controller taking over a beat another one raised (a new coordinator leader): `beatRate`
    /// held to the bounds, counted as just changed, so it eases only after a whole beat.
    public init(configuration: Configuration, resuming beatRate: Int, at now: Timestamp) {
        self.init(configuration: configuration)
        self.beatRate = min(max(beatRate, configuration.quietBeatRate), max(configuration.maximumBeatRate, configuration.quietBeatRate))
        self.changedAt = now
    }

    /// A worker's observation: the current backlog (`backlog` of `capacity`). Returns the beat
    /// rate to answer with.
    public mutating func observe(backlog: Int, capacity: Int, now: Timestamp) -> Int {
        let fraction = capacity > 0 ? Double(backlog) / Double(capacity) : 0
        guard let start = windowStart else {
            windowStart = now
            lowestFraction = fraction
            highestFraction = fraction
            return beatRate
        }
        lowestFraction = min(lowestFraction, fraction)
        highestFraction = max(highestFraction, fraction)
        guard now.since(start) >= configuration.window else { return beatRate }
        conclude(lowestFraction > configuration.raiseAbove ? .overloaded
                    : highestFraction < configuration.lowerBelow ? .clear : .neither, now: now)
        lowestFraction = fraction
        highestFraction = fraction
        return beatRate
    }

    /// The gateways' observation (``ClusterBeat``): `forwarded` requests answered since the
    /// last one, `refused` of them for load. Returns the beat rate to answer with.
    public mutating func observe(forwarded newlyForwarded: Int, refused newlyRefused: Int, now: Timestamp) -> Int {
        forwarded += newlyForwarded
        refused += newlyRefused
        guard let start = windowStart else {
            windowStart = now
            return beatRate
        }
        guard now.since(start) >= configuration.window else { return beatRate }
        let share = forwarded > 0 ? Double(refused) / Double(forwarded) : 0
        conclude(forwarded >= configuration.minimumRequests && share > configuration.refusedRaiseAbove ? .overloaded
                    : share < configuration.refusedLowerBelow ? .clear : .neither, now: now)
        forwarded = 0
        refused = 0
        return beatRate
    }

    /// Applies a window's verdict at its end, paced as the overview says, and opens the next window.
    mutating func conclude(_ verdict: Verdict, now: Timestamp) {
        windowStart = now
        let sinceChange = changedAt.map { now.since($0) }
        switch verdict {
        case .overloaded where sinceChange.map({ $0 >= .seconds(beatRate / 2) }) ?? true:
            let raised = min(configuration.maximumBeatRate, beatRate * 2)
            guard raised != beatRate else { return }
            beatRate = raised
            changedAt = now
        case .clear where sinceChange.map({ $0 >= .seconds(beatRate) }) ?? true:
            let lowered = max(configuration.quietBeatRate, beatRate - max(beatRate / 4, 1))
            guard lowered != beatRate else { return }
            beatRate = lowered
            changedAt = now
        default:
            return
        }
    }
}
