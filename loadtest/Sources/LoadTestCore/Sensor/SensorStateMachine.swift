/// What a simulated ThreatMapper sensor does next, as a value type driven by events and a
/// clock (seconds since the run started), so its behaviour is tested without sleeping.
///
/// ## Overview
/// As a ThreatMapper sensor: log in with the API key (retrying every 10 s), call
/// `agent-init` once (host sensors), then poll controls every beat/2 and send a full report every
/// beat, adopting the `beatrate` the console answers (unless the scenario overrides it). A 401
/// is answered with a refresh, and a refused refresh with a new login; the interrupted request is
/// then retried. A 503 on a report means push-back: wait a random part of the beat, then send a
/// fresh report. Other failures wait for the next beat (reports) or a random part of the half
/// beat (polls).
///
/// ## Implementation
/// One request at a time per sensor: ``nextAction(now:)`` returns the request due now, or how
/// long to sleep; the runner performs it and reports the outcome with one of the `…Answered`
/// events.
public struct SensorStateMachine: Sendable {
    /// What to do.
    public enum Action: Sendable, Hashable {
        case login
        case refresh
        case agentInit
        case sendReport
        case poll
        /// Nothing is due before this time.
        case sleep(until: Double)
    }

    /// An answer as the machine sees it: a status, or a transport failure (0).
    public enum Outcome: Sendable, Hashable {
        case status(Int, beatRate: Int?)
        case transportFailure

        var code: Int {
            switch self {
            case .status(let code, _): code
            case .transportFailure: 0
            }
        }
    }

    enum Phase: Sendable, Hashable {
        case loggedOut
        case initializing
        case running
    }

    public let isClusterSensor: Bool
    /// A fixed beat (seconds) that overrides what the console answers, for stress scenarios.
    public let beatOverride: Int?
    var phase = Phase.loggedOut
    /// The beat rate in force, seconds (ThreatMapper sensors start at 10 until the first answer).
    public private(set) var beatRate: Int
    var nextLogin: Double
    var nextReport: Double = .infinity
    var nextPoll: Double = .infinity
    var needsRefresh = false
    /// `agent-init` succeeded once (a sensor that logs in again does not repeat it).
    var initialized = false
    var rng: SplitMix64

    /// A sensor that starts at `start` (the runner spreads starts over a jitter window).
    public init(start: Double, isClusterSensor: Bool, beatOverride: Int? = nil, seed: UInt64) {
        self.isClusterSensor = isClusterSensor
        self.beatOverride = beatOverride
        self.beatRate = beatOverride ?? 10
        self.nextLogin = start
        self.rng = SplitMix64(seed: seed)
    }

    /// Whether the sensor has logged in and is reporting.
    public var isRunning: Bool { phase == .running }

    /// The request due at `now`, or how long to wait.
    public func nextAction(now: Double) -> Action {
        switch phase {
        case .loggedOut:
            return now >= nextLogin ? .login : .sleep(until: nextLogin)
        case .initializing:
            if needsRefresh { return .refresh }
            return now >= nextLogin ? .agentInit : .sleep(until: nextLogin)
        case .running:
            if needsRefresh { return .refresh }
            let due = min(nextReport, nextPoll)
            guard now >= due else { return .sleep(until: due) }
            return nextReport <= nextPoll ? .sendReport : .poll
        }
    }

    mutating func randomFraction() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    mutating func adopt(_ beatRate: Int?) {
        guard beatOverride == nil, let beatRate, beatRate >= 2 else { return }
        self.beatRate = beatRate
    }

    /// The answer to a login.
    public mutating func loginAnswered(_ outcome: Outcome, now: Double) {
        guard outcome.code == 200 else {
            phase = .loggedOut
            nextLogin = now + 10
            return
        }
        needsRefresh = false
        switch phase {
        case .loggedOut:
            if initialized {
                phase = .running
                nextReport = min(nextReport, now)
                nextPoll = min(nextPoll, now + Double(beatRate) / 2)
            } else if isClusterSensor {
                initialized = true
                startRunning(now: now)
            } else {
                phase = .initializing
                nextLogin = now
            }
        case .initializing, .running:
            break
        }
    }

    /// The answer to a refresh: a new pair, or log in again.
    public mutating func refreshAnswered(_ outcome: Outcome, now: Double) {
        needsRefresh = false
        if outcome.code == 200 { return }
        if outcome.code == 401 {
            phase = .loggedOut
            nextLogin = now
        } else {
            // Could not reach the console: try the refresh again in a moment.
            needsRefresh = true
            nextReport = max(nextReport, now + 1)
            if phase == .initializing { nextLogin = now + 1 }
        }
    }

    /// The answer to `agent-init`.
    public mutating func agentInitAnswered(_ outcome: Outcome, now: Double) {
        switch outcome {
        case .status(200, let beatRate):
            adopt(beatRate)
            initialized = true
            startRunning(now: now)
        case .status(401, _):
            needsRefresh = true
        default:
            nextLogin = now + 10
        }
    }

    mutating func startRunning(now: Double) {
        phase = .running
        nextReport = now
        nextPoll = now + Double(beatRate) / 2
    }

    /// The answer to a report.
    public mutating func reportAnswered(_ outcome: Outcome, now: Double) {
        switch outcome {
        case .status(200, let beatRate):
            adopt(beatRate)
            nextReport = now + Double(self.beatRate)
        case .status(401, _):
            // Refresh, then send the report again at once.
            needsRefresh = true
            nextReport = now
        case .status(503, _):
            nextReport = now + randomFraction() * Double(beatRate)
        default:
            nextReport = now + Double(beatRate)
        }
    }

    /// The answer to a control poll.
    public mutating func pollAnswered(_ outcome: Outcome, now: Double) {
        switch outcome {
        case .status(200, let beatRate):
            adopt(beatRate)
            nextPoll = now + Double(self.beatRate) / 2
        case .status(401, _):
            needsRefresh = true
            nextPoll = now
        default:
            nextPoll = now + randomFraction() * Double(beatRate) / 2
        }
    }
}
