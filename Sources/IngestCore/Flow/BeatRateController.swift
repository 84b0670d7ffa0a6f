/// Decides the beat rate (seconds between reports) the console hands to sensors, its only global
/// flow control.
///
/// ## Overview
/// Sensors send a full report every beat and adopt whatever `beatrate` the console answers. A
/// worker that falls behind lets its backlog of uncommitted reports grow; the controller watches
/// the backlog over each adjustment window and
/// - doubles the beat rate (up to ``Configuration/maximumBeatRate``) when the backlog stayed above
///   ``Configuration/raiseAbove`` of its capacity for the whole window (a burst that drains
///   within the window does not slow the fleet down),
/// - halves it (down to ``Configuration/baseBeatRate``) when it stayed under
///   ``Configuration/lowerBelow`` for the whole window,
/// - otherwise keeps it.
/// Sensors adopt a new rate at their next answer, so a raised rate costs up to one long beat to
/// undo: the default maximum (120 s, four base beats) keeps that bounded.
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
        /// How long each observation window lasts (default 10 s).
        public var window: Duration

        public init(
            baseBeatRate: Int = 30, maximumBeatRate: Int = 120, raiseAbove: Double = 0.5, lowerBelow: Double = 0.1,
            window: Duration = .seconds(10)
        ) {
            self.baseBeatRate = baseBeatRate
            self.maximumBeatRate = maximumBeatRate
            self.raiseAbove = raiseAbove
            self.lowerBelow = lowerBelow
            self.window = window
        }

        /// The smallest beat rate ThreatMapper sensors survive: they divide it by two for their
        /// control-poll ticker, and a zero ticker panics.
        public static let minimumBeatRate = 2

        /// Checks the settings; returns a message naming the bad setting.
        public func validate() -> String? {
            if baseBeatRate < Self.minimumBeatRate { return "--beat-rate must be at least \(Self.minimumBeatRate) seconds" }
            if maximumBeatRate < baseBeatRate { return "--max-beat-rate must be at least --beat-rate" }
            if !(0 < lowerBelow && lowerBelow < raiseAbove && raiseAbove <= 1) {
                return "beat-rate thresholds must satisfy 0 < lower < raise <= 1"
            }
            return nil
        }
    }

    public let configuration: Configuration
    /// The beat rate currently handed out, seconds.
    public private(set) var beatRate: Int
    var windowStart: Timestamp?
    var lowestFraction: Double = .infinity
    var highestFraction: Double = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.beatRate = max(configuration.baseBeatRate, Configuration.minimumBeatRate)
    }

    /// Records the current backlog (`backlog` of `capacity`); returns the beat rate to answer with.
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
        if lowestFraction > configuration.raiseAbove {
            beatRate = min(configuration.maximumBeatRate, beatRate * 2)
        } else if highestFraction < configuration.lowerBelow {
            beatRate = max(configuration.baseBeatRate, beatRate / 2)
        }
        windowStart = now
        lowestFraction = fraction
        highestFraction = fraction
        return beatRate
    }
}
