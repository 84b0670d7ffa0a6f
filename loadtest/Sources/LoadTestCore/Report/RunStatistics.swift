import Histogram
import Synchronization

/// Counts and latencies of a run, per request kind and per second, safe to record into from
/// every sensor task at once.
public final class RunStatistics: Sendable {
    /// The requests a sensor makes.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case report, poll, login, refresh, agentInit = "agent-init"
        /// Findings and scan statuses shipped, and scans the fleet queued through the operator API.
        case findings, scanStatus = "scan-status", queueScan = "queue-scan"
    }

    struct Second {
        var offered: [Kind: Int] = [:]
        var acknowledged: [Kind: Int] = [:]
        var statuses: [Int: Int] = [:]
        var bytesSent = 0
        var reportLatency = LatencyRecorder.makeSecondHistogram()
        var pollLatency = LatencyRecorder.makeSecondHistogram()
        var sendLag = LatencyRecorder.makeSecondHistogram()
    }

    struct State {
        var seconds: [Second] = []
        var overall: [Kind: LatencyRecorder.HDR] = [:]
        var statuses: [Int: Int] = [:]
        var offered: [Kind: Int] = [:]
        var acknowledged: [Kind: Int] = [:]
        var bytesSent = 0
        var sendLag = LatencyRecorder.makeHistogram()
    }

    let state = Mutex(State())

    public init() {}

    /// Records one request that ended `second` seconds into the run. `status` 0 is a transport
    /// failure (no answer).
    public func record(_ kind: Kind, status: Int, latency: Duration, bytesSent: Int, second: Int) {
        let micros = UInt64(max(1, min(600_000_000, latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000)))
        let ok = (200..<300).contains(status)
        state.withLock { state in
            while state.seconds.count <= second { state.seconds.append(Second()) }
            state.seconds[second].offered[kind, default: 0] += 1
            state.offered[kind, default: 0] += 1
            if ok {
                state.seconds[second].acknowledged[kind, default: 0] += 1
                state.acknowledged[kind, default: 0] += 1
            }
            state.seconds[second].statuses[status, default: 0] += 1
            state.statuses[status, default: 0] += 1
            state.seconds[second].bytesSent += bytesSent
            state.bytesSent += bytesSent
            if state.overall[kind] == nil { state.overall[kind] = LatencyRecorder.makeHistogram() }
            state.overall[kind]!.record(micros)
            switch kind {
            case .report: state.seconds[second].reportLatency.record(micros)
            case .poll: state.seconds[second].pollLatency.record(micros)
            default: break
            }
        }
    }

    /// Records how late a sensor woke for a report or poll that was due: the time it waited for
    /// a thread of the fleet, which request latencies do not include (a sensor waiting for its
    /// own previous answer is not lag: that wait is in the answer's latency). `second` is when
    /// it woke.
    public func recordSendLag(_ lag: Duration, second: Int) {
        let micros = UInt64(max(1, min(600_000_000, lag.components.seconds * 1_000_000 + lag.components.attoseconds / 1_000_000_000_000)))
        state.withLock { state in
            while state.seconds.count <= second { state.seconds.append(Second()) }
            state.seconds[second].sendLag.record(micros)
            state.sendLag.record(micros)
        }
    }

    /// The fleet's send lag over the whole run, or over seconds `from..<to`.
    public func sendLag(from: Int? = nil, to: Int? = nil) -> LatencySummary? {
        state.withLock { state in
            guard let from, let to else { return state.sendLag.totalCount > 0 ? LatencySummary(state.sendLag) : nil }
            var merged = LatencyRecorder.makeSecondHistogram()
            for index in max(0, from)..<min(to, state.seconds.count) { merged.add(state.seconds[index].sendLag) }
            return merged.totalCount > 0 ? LatencySummary(merged) : nil
        }
    }

    /// One second of the run, summarized.
    public func second(_ index: Int) -> SecondSummary {
        state.withLock { state in
            guard index < state.seconds.count else { return SecondSummary(second: index) }
            return SecondSummary(index, state.seconds[index])
        }
    }

    /// Latency percentiles per kind over the whole run, or over seconds `from..<to`.
    public func latency(_ kind: Kind, from: Int? = nil, to: Int? = nil) -> LatencySummary? {
        state.withLock { state in
            guard let from, let to else { return state.overall[kind].map(LatencySummary.init) }
            guard kind == .report || kind == .poll else { return nil }
            var merged = LatencyRecorder.makeSecondHistogram()
            for index in max(0, from)..<min(to, state.seconds.count) {
                merged.add(kind == .report ? state.seconds[index].reportLatency : state.seconds[index].pollLatency)
            }
            return merged.totalCount > 0 ? LatencySummary(merged) : nil
        }
    }

    /// Totals: requests offered and acknowledged per kind, answers per status, bytes sent.
    public func totals() -> (offered: [Kind: Int], acknowledged: [Kind: Int], statuses: [Int: Int], bytesSent: Int) {
        state.withLock { ($0.offered, $0.acknowledged, $0.statuses, $0.bytesSent) }
    }

    /// Answers per status in seconds `from..<to`.
    public func statuses(from: Int, to: Int) -> [Int: Int] {
        state.withLock { state in
            var counts: [Int: Int] = [:]
            for index in max(0, from)..<min(to, state.seconds.count) {
                for (status, count) in state.seconds[index].statuses { counts[status, default: 0] += count }
            }
            return counts
        }
    }

    /// Acknowledged requests of a kind in seconds `from..<to`.
    public func acknowledged(_ kind: Kind, from: Int, to: Int) -> Int {
        state.withLock { state in
            (max(0, from)..<min(to, state.seconds.count)).reduce(0) { $0 + (state.seconds[$1].acknowledged[kind] ?? 0) }
        }
    }
}

/// One second of a run.
public struct SecondSummary: Sendable, Codable, Hashable {
    public var second: Int
    public var sensors = 0
    public var reportsOffered = 0
    public var reportsAcknowledged = 0
    public var pollsOffered = 0
    public var pollsAcknowledged = 0
    public var otherRequests = 0
    public var failed = 0
    public var statuses: [String: Int] = [:]
    public var bytesSent = 0
    public var reportP50Micros: UInt64?
    public var reportP99Micros: UInt64?
    public var reportP999Micros: UInt64?
    public var pollP99Micros: UInt64?
    /// How late the fleet itself sent the reports and polls due this second (99th percentile).
    public var sendLagP99Micros: UInt64?
    public var consoleCPUPercent: Double?
    public var consoleRSSBytes: Int?
    /// The database's CPU this second (its autovacuum workers' part apart) and the fleet's own,
    /// % of one core, when watched.
    public var databaseCPUPercent: Double?
    public var autovacuumCPUPercent: Double?
    public var fleetCPUPercent: Double?

    public init(second: Int) { self.second = second }

    init(_ index: Int, _ second: RunStatistics.Second) {
        self.second = index
        reportsOffered = second.offered[.report] ?? 0
        reportsAcknowledged = second.acknowledged[.report] ?? 0
        pollsOffered = second.offered[.poll] ?? 0
        pollsAcknowledged = second.acknowledged[.poll] ?? 0
        otherRequests = second.offered.filter { $0.key != .report && $0.key != .poll }.reduce(0) { $0 + $1.value }
        failed = second.statuses.filter { !(200..<300).contains($0.key) }.reduce(0) { $0 + $1.value }
        statuses = Dictionary(uniqueKeysWithValues: second.statuses.map { (String($0.key), $0.value) })
        bytesSent = second.bytesSent
        if second.reportLatency.totalCount > 0 {
            reportP50Micros = second.reportLatency.valueAtPercentile(50)
            reportP99Micros = second.reportLatency.valueAtPercentile(99)
            reportP999Micros = second.reportLatency.valueAtPercentile(99.9)
        }
        if second.pollLatency.totalCount > 0 { pollP99Micros = second.pollLatency.valueAtPercentile(99) }
        if second.sendLag.totalCount > 0 { sendLagP99Micros = second.sendLag.valueAtPercentile(99) }
    }
}
