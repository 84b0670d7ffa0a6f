/// A load-test scenario: how many sensors run when, of which profiles, at which beat, and the
/// fault steps to take on the way. Built from `fleet run` flags or read from a JSON file:
///
/// ```json
/// {"phases": [{"sensors": 1000, "ramp": "60s", "hold": "5m"}, {"sensors": 200, "ramp": "30s", "hold": "1m"}],
///  "mix": {"host": 0.9, "cluster": 0.05, "busy": 0.05},
///  "beat": 10, "churn": 0.01, "seed": 7,
///  "faults": [{"at": "2m", "action": "kill"}, {"at": "2m10s", "action": "start"},
///             {"at": "3m", "action": "command", "command": "echo hello"}]}
/// ```
public struct Scenario: Sendable, Hashable, Codable {
    /// Move to `sensors` simulated sensors over `ramp` (linearly; 0 starts them all at once,
    /// spread over the start-up jitter), then keep them for `hold`.
    public struct Phase: Sendable, Hashable, Codable {
        public var sensors: Int
        public var ramp: String?
        public var hold: String

        public init(sensors: Int, ramp: String? = nil, hold: String) {
            self.sensors = sensors
            self.ramp = ramp
            self.hold = hold
        }
    }

    /// A fault step.
    public struct Fault: Sendable, Hashable, Codable {
        /// When, from the start of the run (`90s`, `2m`).
        public var at: String
        /// `stop` (SIGTERM the console the fleet started), `kill` (SIGKILL), `start`, `restart`
        /// (SIGTERM, wait, start), or `command` (run `command` with /bin/sh).
        public var action: String
        public var command: String?

        public init(at: String, action: String, command: String? = nil) {
            self.at = at
            self.action = action
            self.command = command
        }
    }

    public var phases: [Phase]
    /// Profile name → weight (`host`, `busy`, `cluster`).
    public var mix: [String: Double]?
    /// A fixed beat in seconds, ignoring the console's `beatrate` (stress).
    public var beat: Int?
    /// Overrides each profile's churn (fraction changing per beat).
    public var churn: Double?
    /// Seconds over which sensors that start together are spread (default 30).
    public var jitter: String?
    /// Seeds every sensor's random stream (default 1).
    public var seed: UInt64?
    public var faults: [Fault]?
    /// The share of requests that are hostile (bad gzip, bombs, oversize bodies, bad tokens, junk
    /// JSON), sent by attackers of their own beside the fleet: `0.01` is 1 %.
    public var hostile: Double?
    /// Scans run by a share of the host sensors, their findings shipped beside the topology.
    public var scans: ScanLoad?

    public init(phases: [Phase], mix: [String: Double]? = nil, beat: Int? = nil, churn: Double? = nil, jitter: String? = nil,
                seed: UInt64? = nil, faults: [Fault]? = nil, hostile: Double? = nil, scans: ScanLoad? = nil) {
        self.scans = scans
        self.hostile = hostile
        self.phases = phases
        self.mix = mix
        self.beat = beat
        self.churn = churn
        self.jitter = jitter
        self.seed = seed
        self.faults = faults
    }

    /// Why the scenario cannot run, if it cannot.
    public func validate() -> String? {
        if phases.isEmpty { return "a scenario needs at least one phase" }
        for phase in phases {
            if phase.sensors < 0 { return "a phase cannot have a negative sensor count" }
            if Self.seconds(phase.hold) == nil { return "hold '\(phase.hold)' is not a duration (like 90s, 5m)" }
            if let ramp = phase.ramp, Self.seconds(ramp) == nil { return "ramp '\(ramp)' is not a duration" }
        }
        for (name, weight) in mix ?? [:] {
            if SensorProfile.named(name) == nil { return "unknown profile '\(name)' in mix (\(SensorProfile.names))" }
            if weight < 0 { return "mix weights cannot be negative" }
        }
        if let beat, beat < 2 { return "beat must be at least 2 seconds" }
        if let hostile, !(0...0.5).contains(hostile) { return "hostile must be a share between 0 and 0.5" }
        if let jitter, Self.seconds(jitter) == nil { return "jitter '\(jitter)' is not a duration" }
        if let problem = scans?.validate() { return problem }
        for fault in faults ?? [] {
            if Self.seconds(fault.at) == nil { return "fault time '\(fault.at)' is not a duration" }
            if !["stop", "kill", "start", "restart", "command"].contains(fault.action) {
                return "fault action '\(fault.action)': stop, kill, start, restart or command"
            }
            if fault.action == "command" && (fault.command ?? "").isEmpty { return "a command fault needs its command" }
        }
        return nil
    }

    /// Seconds in a duration text (`500ms`, `30s`, `5m`, `1h`, `2m30s`, or a bare number of seconds).
    public static func seconds(_ text: String) -> Double? {
        if let plain = Double(text), plain >= 0 { return plain }
        var total = 0.0
        var number = ""
        var index = text.startIndex
        var parsedAny = false
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number) else { return nil }
            let rest = text[index...]
            let (unit, length): (Double, Int) =
                rest.hasPrefix("ms") ? (0.001, 2) : rest.hasPrefix("s") ? (1, 1) : rest.hasPrefix("m") ? (60, 1)
                : rest.hasPrefix("h") ? (3600, 1) : (-1, 0)
            guard unit > 0 else { return nil }
            total += value * unit
            number = ""
            parsedAny = true
            index = text.index(index, offsetBy: length)
        }
        guard number.isEmpty, parsedAny else { return nil }
        return total
    }

    /// The run's length: every phase's ramp and hold.
    public var duration: Double {
        phases.reduce(0) { $0 + (Self.seconds($1.ramp ?? "0") ?? 0) + (Self.seconds($1.hold) ?? 0) }
    }

    /// The largest number of sensors at any time.
    public var peakSensors: Int { phases.map(\.sensors).max() ?? 0 }

    /// When each sensor (0 ..< ``peakSensors``) starts and stops, seconds from the run's start.
    /// Sensors are added in index order and removed in reverse; a phase without a ramp starts its
    /// sensors spread over the jitter window.
    public func schedule() -> [(start: Double, stop: Double)] {
        let jitter = Self.seconds(self.jitter ?? "30") ?? 30
        var rng = SplitMix64(seed: (seed ?? 1) ^ 0x5CED)
        var windows = [(start: Double, stop: Double)](repeating: (.infinity, .infinity), count: peakSensors)
        var running = 0
        var time = 0.0
        for phase in phases {
            let ramp = Self.seconds(phase.ramp ?? "0") ?? 0
            if phase.sensors > running {
                let added = phase.sensors - running
                for offset in 0..<added {
                    let index = running + offset
                    let start = ramp > 0
                        ? time + ramp * Double(offset) / Double(added)
                        : time + jitter * Double(rng.next() >> 11) / Double(1 << 53)
                    windows[index] = (start, .infinity)
                }
            } else if phase.sensors < running {
                let removed = running - phase.sensors
                for offset in 0..<removed {
                    let index = running - 1 - offset
                    windows[index].stop = time + (ramp > 0 ? ramp * Double(offset + 1) / Double(removed) : 0)
                }
            }
            running = phase.sensors
            time += ramp + (Self.seconds(phase.hold) ?? 0)
        }
        return windows.map { ($0.start, min($0.stop, time)) }
    }

    /// Whether sensor `index` runs scans (a host sensor, chosen with ``ScanLoad/share``;
    /// deterministic for a seed).
    public func isScanner(_ index: Int) -> Bool {
        guard let scans, scans.share > 0, profile(of: index).kind != .cluster else { return false }
        var rng = SplitMix64(seed: (seed ?? 1) &* 53 &+ UInt64(index) &+ 0x5CA7)
        return Double(rng.next() >> 11) / Double(1 << 53) < scans.share
    }

    /// The profile of sensor `index`, from the mix (deterministic for a seed).
    public func profile(of index: Int) -> SensorProfile {
        let mix = (self.mix ?? ["host": 1]).filter { $0.value > 0 }.sorted { $0.key < $1.key }
        let total = mix.reduce(0) { $0 + $1.value }
        var rng = SplitMix64(seed: (seed ?? 1) &* 31 &+ UInt64(index))
        var pick = Double(rng.next() >> 11) / Double(1 << 53) * total
        var chosen = SensorProfile.host
        for (name, weight) in mix {
            chosen = SensorProfile.named(name) ?? .host
            if pick < weight { break }
            pick -= weight
        }
        if let churn { chosen.churn = churn }
        return chosen
    }
}
