/// Everything a run measured, written as the JSON result file and rendered as the HTML report.
public struct RunResult: Sendable, Codable {
    public struct Window: Sendable, Codable {
        /// Seconds from the run's start.
        public var from: Int
        public var to: Int
        public var sensors: Int
        public var reportsPerSecond: Double
        public var pollsPerSecond: Double
        public var report: LatencySummary?
        public var poll: LatencySummary?
        public var statuses: [String: Int]
        public var nonSuccess: Int
        public var consoleCPUPercent: Double?
        public var consoleRSSBytesMax: Int?
        /// How late the fleet itself sent reports and polls (its own saturation, not the console's).
        public var sendLag: LatencySummary?
        /// The database's and the fleet's CPU, and CPU per report acknowledged.
        public var cpu: CPU?

        public init(
            from: Int, to: Int, sensors: Int, reportsPerSecond: Double, pollsPerSecond: Double, report: LatencySummary?,
            poll: LatencySummary?, statuses: [String: Int], nonSuccess: Int, consoleCPUPercent: Double?, consoleRSSBytesMax: Int?,
            sendLag: LatencySummary? = nil, cpu: CPU? = nil
        ) {
            self.from = from
            self.to = to
            self.sensors = sensors
            self.reportsPerSecond = reportsPerSecond
            self.pollsPerSecond = pollsPerSecond
            self.report = report
            self.poll = poll
            self.statuses = statuses
            self.nonSuccess = nonSuccess
            self.consoleCPUPercent = consoleCPUPercent
            self.consoleRSSBytesMax = consoleRSSBytesMax
            self.sendLag = sendLag
            self.cpu = cpu
        }
    }

    /// CPU beside the console's: its database's (processes named `postgres` among those
    /// watched) and the fleet's own, as % of one core; and console, database and fleet CPU time
    /// per report acknowledged, in ms (everything they did in the window, polls and logins
    /// included, over the reports). `autovacuumMillisPerReport` is the part of the database's
    /// spent by its autovacuum workers: after a ramp of new sensors, the vacuum and analyze of
    /// the rows they added can fall in a short run's steady window, and that is not a cost each
    /// report pays.
    public struct CPU: Sendable, Codable {
        public var databasePercent: Double?
        public var fleetPercent: Double?
        public var consoleMillisPerReport: Double?
        public var databaseMillisPerReport: Double?
        public var autovacuumMillisPerReport: Double?
        public var fleetMillisPerReport: Double?

        public init(
            databasePercent: Double?, fleetPercent: Double?, consoleMillisPerReport: Double?, databaseMillisPerReport: Double?,
            autovacuumMillisPerReport: Double? = nil, fleetMillisPerReport: Double? = nil
        ) {
            self.databasePercent = databasePercent
            self.fleetPercent = fleetPercent
            self.consoleMillisPerReport = consoleMillisPerReport
            self.databaseMillisPerReport = databaseMillisPerReport
            self.autovacuumMillisPerReport = autovacuumMillisPerReport
            self.fleetMillisPerReport = fleetMillisPerReport
        }
    }

    public struct FaultRecord: Sendable, Codable, Hashable {
        public var at: Double
        public var action: String
        public var outcome: String

        public init(at: Double, action: String, outcome: String) {
            self.at = at
            self.action = action
            self.outcome = outcome
        }
    }

    public var target: String
    public var scenario: Scenario
    public var startedAt: String
    public var durationSeconds: Double
    public var offered: [String: Int]
    public var acknowledged: [String: Int]
    public var statuses: [String: Int]
    public var bytesSent: Int
    public var latency: [String: LatencySummary]
    /// The whole run, and the steady part (after the last sensor started, before the first stopped).
    public var overall: Window
    public var steady: Window?
    public var seconds: [SecondSummary]
    public var faults: [FaultRecord]
    public var lossCheck: LossCheck?
    /// Why the run failed, if it did (loss, or no console to check against).
    public var failures: [String]
    /// The hostile mix's answers, by request and status (nil: no hostile mix).
    public var hostile: [String: [String: Int]]?
    /// The scans' loss check and findings throughput (nil: no scans in the scenario).
    public var findings: FindingsCheck?

    public var passed: Bool { failures.isEmpty }

    public init(
        target: String, scenario: Scenario, startedAt: String, durationSeconds: Double, offered: [String: Int],
        acknowledged: [String: Int], statuses: [String: Int], bytesSent: Int, latency: [String: LatencySummary],
        overall: Window, steady: Window?, seconds: [SecondSummary], faults: [FaultRecord], lossCheck: LossCheck?,
        failures: [String]
    ) {
        self.target = target
        self.scenario = scenario
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.offered = offered
        self.acknowledged = acknowledged
        self.statuses = statuses
        self.bytesSent = bytesSent
        self.latency = latency
        self.overall = overall
        self.steady = steady
        self.seconds = seconds
        self.faults = faults
        self.lossCheck = lossCheck
        self.failures = failures
    }
}
