/// Keeps sensors that were acknowledged together from reporting together ever after.
///
/// ## Overview
/// A ThreatMapper sensor sends its next report one beat after the previous one was answered.
/// Sensors whose reports were held up together (a slow commit, a burst of new hosts, a console
/// restart) are answered in the same batch, so they return in the same instant one beat later,
/// are batched together again, and stay a clump for as long as they run; every stall adds
/// more sensors to clumps. Measured with 10,000 simulated sensors, the per-second report rate
/// then repeats with the beat (autocorrelation 0.77 at 30 s) and the p99 grows with each clump.
///
/// So a report acknowledged in a batch of at least ``Configuration/batchThreshold`` reports is
/// answered with a beat rate drawn uniformly from `beat − spread … beat + spread` seconds
/// (the mean stays the beat): the clump splits and dissolves within a few beats. Reports
/// acknowledged in smaller batches, which is every report of a console that is keeping up, get
/// the beat rate unchanged. Measured after 10,000 new sensors started within 30 s: with a
/// spread of 1 s the one-second p99 still reached 100–200 ms four minutes later; with 3 s it
/// stayed under 80 ms from the second minute on.
///
/// The spread is ``Configuration/seconds`` up to the worker's configured beat and grows with a
/// longer beat in proportion, always at most a tenth of the beat. A raised beat (the cluster's, under load) is
/// when clumps form, and a fixed few seconds no longer split them: with 100,000 sensors at a
/// beat of 406 s, sensors answered together at ±3 s still came back within a few seconds of
/// each other a beat later (docs/benchmarks.md).
///
/// ## Implementation
/// A value type; the caller passes the random number generator.
public struct BeatSpread: Sendable, Hashable {
    /// The spread's settings.
    public struct Configuration: Sendable, Hashable {
        /// Seconds a clumped sensor's beat may move either way at the configured beat rate; a
        /// longer beat moves in proportion, at most a tenth of the beat (`--beat-spread`,
        /// default 3; 0: off).
        public var seconds: Int
        /// Batch size from which acknowledged reports are spread (`--beat-spread-batch`, default 8).
        public var batchThreshold: Int

        public init(seconds: Int = 3, batchThreshold: Int = 8) {
            self.seconds = seconds
            self.batchThreshold = batchThreshold
        }

        /// Checks the settings; returns a message naming the bad setting.
        public func validate() -> String? {
            if seconds < 0 { return "--beat-spread must not be negative" }
            if batchThreshold < 2 { return "--beat-spread-batch must be at least 2" }
            return nil
        }
    }

    public let configuration: Configuration
    /// The beat ``Configuration/seconds`` is the spread of (the worker's `--beat-rate`).
    public let baseBeatRate: Int

    public init(configuration: Configuration, baseBeatRate: Int) {
        self.configuration = configuration
        self.baseBeatRate = max(baseBeatRate, 1)
    }

    /// The beat rate to answer a report acknowledged in a batch of `batchSize` with.
    public func beatRate(
        _ beatRate: Int, batchSize: Int, using generator: inout some RandomNumberGenerator
    ) -> Int {
        let tenth = beatRate / 10
        // In proportion above the base beat; a product past Int's range is more than a tenth.
        let (product, overflow) = configuration.seconds.multipliedReportingOverflow(by: beatRate)
        let seconds = min(max(configuration.seconds, overflow ? tenth : product / baseBeatRate), tenth)
        guard seconds > 0, batchSize >= configuration.batchThreshold else { return beatRate }
        let spread = Int.random(in: -seconds...seconds, using: &generator)
        return max(BeatRateController.Configuration.minimumBeatRate, beatRate + spread)
    }
}
