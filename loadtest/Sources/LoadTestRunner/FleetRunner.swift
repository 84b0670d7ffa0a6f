import Foundation
import IngestCompression
import IngestCore
import IngestTransport
import LoadTestCore
import NIOCore
import NIOHTTP1
import Synchronization

/// Runs a scenario against a console: one task per simulated sensor, a sampler that prints the
/// live status line and reads the console's CPU and memory, the fault steps, and at the end the
/// loss check.
public final class FleetRunner: Sendable {
    public struct Configuration: Sendable {
        public var target: FleetTarget
        /// More consoles (gateways of one cluster): sensors are spread over `target` and these
        /// round-robin by connection.
        public var moreTargets: [FleetTarget] = []
        public var sensorKey: String
        /// Needed for the loss check (it reads the console's nodes through the operator API).
        public var adminKey: String?
        public var scenario: Scenario
        /// Host names are `<prefix>-<index>` (cluster IDs `<prefix>-cluster-<index>`).
        public var namePrefix: String
        /// Sensors sharing one connection (1: a connection per sensor, as real sensors).
        public var sensorsPerConnection = 1
        /// A console for the fleet to start (and stop, kill, restart in fault steps): argv.
        public var consoleCommand: [String]?
        public var consoleLog = "/tmp/fleet-console.log"
        /// More processes whose CPU and memory to report (for example the console's PostgreSQL).
        public var watchPIDs: [Int32] = []
        /// Processes to watch by a text their command line contains, matched again every second
        /// (PostgreSQL's backends come and go). Processes named `postgres` count as the database,
        /// the others as the console.
        public var watchPatterns: [String] = []
        public var requestTimeout: Duration = .seconds(30)
        public var gzipLevel: Int32 = 1
        /// Keep the reports the console may hold last (compressed) and parse them when the run
        /// ends, for the loss check's entity comparison (`--no-content-check` turns it off).
        public var checkContent = true
        /// The hostile mix's bomb (zeros, before gzip) and oversize body (above the console's
        /// `--max-body-bytes`, default 8 MiB).
        public var hostileBombBytes = 64 << 20
        public var hostileOversizeBytes = (8 << 20) + (64 << 10)
        /// Print the status line every second (to standard error).
        public var statusLine = true

        public init(target: FleetTarget, sensorKey: String, scenario: Scenario, namePrefix: String) {
            self.target = target
            self.sensorKey = sensorKey
            self.scenario = scenario
            self.namePrefix = namePrefix
        }
    }

    public let configuration: Configuration
    let statistics = RunStatistics()
    let sampler = ProcessSampler()
    /// The database's autovacuum workers again, apart (a pid sampled twice in a second by one
    /// sampler would read no CPU the second time).
    let autovacuumSampler = ProcessSampler()
    let consoleProcess = Mutex<ChildProcess?>(nil)
    let samples = Mutex<[Int: Sample]>([:])

    /// One second's CPU (% of one core) of the console (its RSS too), its database and the fleet.
    struct Sample {
        var cpu: Double
        var rss: Int
        var databaseCPU: Double?
        /// The part of `databaseCPU` spent by autovacuum workers.
        var autovacuumCPU: Double?
        var fleetCPU: Double?
    }
    let running = Atomic<Int>(0)
    let faultRecords = Mutex<[RunResult.FaultRecord]>([])
    let timestamp = Mutex<String>("")
    /// The console's own parser, with its default limits.
    let parser = ReportParser()
    /// Answers to the scans the fleet queued through the operator API, by status.
    let scanQueueAnswers = Mutex<[Int: Int]>([:])
    /// Answers to the hostile mix, by request and status.
    let hostileAnswers = Mutex<[HostileRequest: [Int: Int]]>([:])
    /// The requests in flight, for `--request-timeout`.
    let deadlines = RequestDeadlines()

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    // MARK: The run

    /// Runs the scenario; returns (and the caller writes) the result.
    public func run() async throws -> RunResult {
        if let problem = configuration.scenario.validate() { throw FleetError(problem) }
        if let command = configuration.consoleCommand {
            try await startConsole(command)
        }
        let scenario = configuration.scenario
        let schedule = scenario.schedule()
        let duration = scenario.duration
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let clock = ContinuousClock()
        let start = clock.now
        updateTimestamp()
        let lanes = SensorLane.all
        let slots = (0..<(schedule.count + configuration.sensorsPerConnection - 1) / max(configuration.sensorsPerConnection, 1))
            .enumerated().map { index, _ in
                let targets = [configuration.target] + configuration.moreTargets
                return SensorConnection(target: targets[index % targets.count], lane: lanes[index % lanes.count])
            }

        let share = scenario.hostile ?? 0
        let attackers = share > 0 ? max(1, Int((Double(scenario.peakSensors) * share).rounded())) : 0
        let hostileBodies = attackers > 0 ? HostileBodies(configuration: configuration, seed: scenario.seed ?? 1) : nil
        let sweeper = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self.deadlines.sweep()
            }
        }
        defer { sweeper.cancel() }
        let ledgers = await withTaskGroup(of: LossCheck.Ledger?.self) { group -> [LossCheck.Ledger] in
            group.addTask {
                await self.monitor(start: start, duration: duration)
                return nil
            }
            group.addTask {
                await self.runFaults(start: start)
                return nil
            }
            for (index, window) in schedule.enumerated() {
                let slot = slots[index / max(configuration.sensorsPerConnection, 1)]
                group.addTask(executorPreference: slot.lane.executor) {
                    await self.runSensor(index: index, window: window, slot: slot, start: start)
                }
            }
            if let scans = scenario.scans, scans.share > 0, let adminKey = configuration.adminKey {
                group.addTask {
                    await self.driveScans(schedule: schedule, scans: scans, adminKey: adminKey, start: start, stop: duration)
                    return nil
                }
            }
            if let bodies = hostileBodies {
                for index in 0..<attackers {
                    group.addTask {
                        await self.runAttacker(index: index, bodies: bodies, stop: duration, start: start)
                        return nil
                    }
                }
            }
            var ledgers: [LossCheck.Ledger] = []
            for await ledger in group { if let ledger { ledgers.append(ledger) } }
            return ledgers
        }
        for slot in slots { await slot.close() }
        let elapsed = (clock.now - start).secondsValue

        var failures: [String] = []
        var lossCheck: LossCheck?
        if let adminKey = configuration.adminKey {
            do {
                let stored = try await ConsoleNodes.latestReports(target: configuration.target, adminKey: adminKey, prefix: configuration.namePrefix)
                let check = LossCheck(ledgers: ledgers, stored: stored)
                lossCheck = check
                if !check.passed {
                    failures.append("loss check: \(check.mismatches.count) of \(check.sensorsChecked) sensors do not match what the console stores")
                }
            } catch {
                failures.append("loss check: could not read the console's nodes: \(error)")
            }
        } else {
            failures.append("loss check skipped: no --admin-key")
        }
        var findingsCheck: FindingsCheck?
        if scenario.scans != nil, let adminKey = configuration.adminKey {
            do {
                let scanIDs = ledgers.flatMap { $0.scans.keys }.sorted()
                let stored = try await ConsoleScans.stored(target: configuration.target, adminKey: adminKey, scanIDs: scanIDs)
                var check = FindingsCheck(ledgers: ledgers, stored: stored, seconds: elapsed)
                check.queued = Dictionary(uniqueKeysWithValues: scanQueueAnswers.withLock { $0 }.map { (String($0.key), $0.value) })
                findingsCheck = check
                if !check.passed {
                    failures.append("findings check: \(check.mismatches.count) of \(check.scans) scans do not match what the console stores")
                }
            } catch {
                failures.append("findings check: could not read the console's scans: \(error)")
            }
        }
        if let process = consoleProcess.withLock({ $0 }) {
            process.signal(SIGTERM)
            _ = await process.wait(timeout: .seconds(60))
        }
        var result = makeResult(startedAt: startedAt, elapsed: elapsed, schedule: schedule, lossCheck: lossCheck, failures: failures)
        result.findings = findingsCheck
        if attackers > 0 {
            let hostile = hostileAnswers.withLock { $0 }
            result.failures += Self.hostileFailures(hostile, legitimateNonSuccess: result.overall.nonSuccess)
            result.hostile = Dictionary(uniqueKeysWithValues: hostile.map { request, statuses in
                (request.rawValue, Dictionary(uniqueKeysWithValues: statuses.map { (String($0.key), $0.value) }))
            })
        }
        return result
    }

    /// Why the hostile mix fails the run: a hostile request let through (2xx) or answered with a
    /// server error, or a legitimate sensor answered anything but 2xx beside it.
    static func hostileFailures(_ answers: [HostileRequest: [Int: Int]], legitimateNonSuccess: Int) -> [String] {
        var failures: [String] = []
        for (request, statuses) in answers.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            // 0: no answer (a refused body may be cut short by a reset); not a failure.
            let wrong = statuses.filter { $0.key != 0 && !request.expectedStatuses.contains($0.key) }
            if !wrong.isEmpty {
                failures.append("hostile \(request.rawValue) answered " + wrong.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
            }
        }
        if legitimateNonSuccess > 0 {
            failures.append("legitimate sensors got \(legitimateNonSuccess) non-2xx answers beside the hostile mix")
        }
        return failures
    }

    // MARK: One sensor

    func runSensor(index: Int, window: (start: Double, stop: Double), slot: SensorConnection, start: ContinuousClock.Instant) async -> LossCheck.Ledger {
        let scenario = configuration.scenario
        let profile = scenario.profile(of: index)
        let nodeID = profile.kind == .cluster ? "\(configuration.namePrefix)-cluster-\(index)" : "\(configuration.namePrefix)-\(index)"
        var ledger = LossCheck.Ledger(nodeID: nodeID)
        let seed = (scenario.seed ?? 1) &* 0x9E37_79B9 &+ UInt64(index)
        var machine = SensorStateMachine(start: window.start, isClusterSensor: profile.kind == .cluster, beatOverride: scenario.beat, seed: seed)
        var world = SimulatedSensor(nodeID: nodeID, profile: profile, seed: seed ^ 0xC0FFEE)
        var bodies = ReportBodies()
        var tokens: (access: String, refresh: String)?
        var lastReportAt: Double?
        var rng = SplitMix64(seed: seed ^ 0xBEEF)
        var counted = false
        var candidates: [String: [UInt8]] = [:]
        let scanner = scenario.isScanner(index)
        var shipper: FindingsShipper?
        defer { if counted { running.wrappingSubtract(1, ordering: .relaxed) } }

        while true {
            let now = (ContinuousClock.now - start).secondsValue
            if now >= window.stop { break }
            // A scan in progress ships its status and findings between the sensor's beats.
            var shipperWake = Double.infinity
            if var scan = shipper {
                switch scan.nextAction(now: now) {
                case .sleep(let until):
                    shipperWake = until
                case .done:
                    shipper = nil
                case .sendStatus(let status):
                    let route = FindingsShipper.routes(of: scan.kind).status
                    let json = #"[{"scan_id":\#(FindingsShipper.quoted(scan.scanID)),"scan_status":"\#(status)","scan_message":""}]"#
                    let (code, _, _) = await send(.scanStatus, "/deepfence/ingest/\(route)", json: json, token: tokens?.access, slot: slot, start: start)
                    scan.statusAnswered(status, ok: code == 200, now: elapsed(start))
                    if code == 200 && status == "COMPLETE" { ledger.scans[scan.scanID]?.completed = true }
                    shipper = scan
                    continue
                case .sendFindings(let range):
                    let route = FindingsShipper.routes(of: scan.kind).findings
                    let json = "[" + range.map { scan.record($0, host: nodeID) }.joined(separator: ",") + "]"
                    let sent = max(ledger.scans[scan.scanID]?.sent ?? 0, range.upperBound)
                    ledger.scans[scan.scanID]?.sent = sent
                    let (code, _, _) = await send(.findings, "/deepfence/ingest/\(route)", json: json, token: tokens?.access, slot: slot, start: start)
                    scan.findingsAnswered(range, ok: code == 200, now: elapsed(start))
                    ledger.scans[scan.scanID]?.acknowledged = scan.shipped
                    shipper = scan
                    continue
                }
            }
            switch machine.nextAction(now: now) {
            case .sleep(let until):
                let wake = min(until, shipperWake, window.stop)
                if wake > now {
                    await slot.lane.sleep(until: .now() + .milliseconds(Int64((wake - now) * 1000) + 1))
                    // How late this task got a thread again: the fleet's own lag, not the console's.
                    if machine.isRunning && until < window.stop && until <= shipperWake { recordLag(since: until, now: elapsed(start)) }
                }
            case .login:
                let (status, body, _) = await send(.login, "/deepfence/auth/token", json: #"{"api_token":"\#(configuration.sensorKey)"}"#,
                                                  token: nil, slot: slot, start: start)
                if status == 200, let pair = Self.tokenPair(body) { tokens = pair }
                machine.loginAnswered(.status(status == 200 && tokens != nil ? 200 : max(status, 1), beatRate: nil), now: elapsed(start))
                if status == 200 && !counted {
                    counted = true
                    running.wrappingAdd(1, ordering: .relaxed)
                }
            case .refresh:
                let (status, body, _) = await send(.refresh, "/deepfence/auth/token/refresh", json: nil, token: tokens?.refresh, slot: slot, start: start)
                if status == 200, let pair = Self.tokenPair(body) { tokens = pair }
                machine.refreshAnswered(status == 0 ? .transportFailure : .status(status, beatRate: nil), now: elapsed(start))
            case .agentInit:
                let json = #"{"node_id":"\#(nodeID)","available_workload":1,"node_type":"host","version":"v2.5.6-loadtest"}"#
                let (status, body, _) = await send(.agentInit, "/deepfence/controls/agent-init", json: json, token: tokens?.access, slot: slot, start: start)
                machine.agentInitAnswered(status == 0 ? .transportFailure : .status(status, beatRate: Self.beatRate(body)), now: elapsed(start))
            case .poll:
                let route = profile.kind == .cluster ? "/deepfence/controls/kubernetes-cluster" : "/deepfence/controls/agent"
                // Like a real sensor: one scan at a time, so no free slot while one runs.
                let workload = shipper == nil ? 1 : 0
                let (status, body, _) = await send(.poll, route, json: #"{"node_id":"\#(nodeID)","available_workload":\#(workload)}"#,
                                                  token: tokens?.access, slot: slot, start: start)
                machine.pollAnswered(status == 0 ? .transportFailure : .status(status, beatRate: Self.beatRate(body)), now: elapsed(start))
                if scanner, status == 200, shipper == nil, let scans = scenario.scans, let (scanID, kind) = Self.startedScan(body) {
                    shipper = FindingsShipper(scanID: scanID, kind: kind, total: scans.findings, rate: scans.rate, now: elapsed(start))
                    ledger.scans[scanID] = LossCheck.ScanRecord()
                }
            case .sendReport:
                let at = elapsed(start)
                world.advance(seconds: Int(at - (lastReportAt ?? at)))
                lastReportAt = at
                let reportID = String(rng.next() >> 1)
                let gzipped = bodies.body(of: world, reportID: reportID, timestamp: timestamp.withLock { $0 }, level: configuration.gzipLevel)
                let (status, body, answered) = await send(.report, "/deepfence/ingest/report", gzipped: gzipped, token: tokens?.access,
                                                          slot: slot, start: start)
                // A gateway that gave up waiting for its worker cannot tell whether the report was
                // committed: its answer leaves the report in doubt, like no answer at all.
                let timedOut = status == 503 && ["forward_timeout", "commit_timeout"].contains(Self.errorCode(body))
                ledger.sent(reportID, acknowledged: status == 200, answered: answered && !timedOut)
                if configuration.checkContent {
                    // The reports the console may hold last, kept compressed until the run ends.
                    if status == 200 {
                        candidates = [reportID: gzipped]
                    } else if !answered || timedOut {
                        candidates[reportID] = gzipped
                    }
                }
                machine.reportAnswered(status == 0 ? .transportFailure : .status(status, beatRate: Self.beatRate(body)), now: elapsed(start))
            }
        }
        // What the console should hold for each of them: parsed once, here, not per beat.
        for (reportID, gzipped) in candidates {
            guard let json = try? Gzip.decompress(gzipped, limit: 1 << 30), let report = try? parser.parse(json) else { continue }
            ledger.contents[reportID] = ContentDigest(report: report).description
        }
        return ledger
    }

    func elapsed(_ start: ContinuousClock.Instant) -> Double { (ContinuousClock.now - start).secondsValue }

    /// The scan a poll's answer starts, if it hands out a start-scan command: its ID (the
    /// payload's `bin_args.scan_id`) and kind.
    static func startedScan(_ body: ByteBuffer?) -> (scanID: String, kind: String)? {
        guard let body, let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let commands = object["commands"] as? [[String: Any]]
        else { return nil }
        let kinds = [0: "vulnerability", 1: "secret", 3: "malware"]
        for command in commands {
            guard let id = command["id"] as? Int, let kind = kinds[id], let payload = command["request_payload"] as? String,
                let request = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
                let scanID = (request["bin_args"] as? [String: Any])?["scan_id"] as? String
            else { continue }
            return (scanID, kind)
        }
        return nil
    }

    /// Asks the console to start scans on the scanning sensors, each every ``ScanLoad/interval``
    /// from 20 s after it starts (its node exists by then), through the operator API, cycling
    /// through vulnerability, secret and malware scans. A scan still open is answered 409 and
    /// skipped; a node not stored yet 404, tried again next round.
    func driveScans(schedule: [(start: Double, stop: Double)], scans: ScanLoad, adminKey: String, start: ContinuousClock.Instant, stop: Double) async {
        let scanners = schedule.indices.filter { configuration.scenario.isScanner($0) }
        guard !scanners.isEmpty else { return }
        let slot = SensorConnection(target: configuration.target)
        defer { Task { await slot.close() } }
        var token: String?
        var loggedInAt = -Double.infinity
        var due = scanners.map { (index: $0, at: schedule[$0].start + 20, round: 0) }
        while !due.isEmpty {
            due.sort { $0.at < $1.at }
            let next = due.removeFirst()
            guard next.at < min(stop, schedule[next.index].stop) else { continue }
            let now = elapsed(start)
            if next.at > now { try? await Task.sleep(for: .milliseconds(Int64((next.at - now) * 1000) + 1)) }
            // Operator calls: counted apart from the sensors' requests (a 409 for a scan still
            // open is not a sensor's error).
            if token == nil || elapsed(start) - loggedInAt > 900 {
                let (status, body) = await exchange(
                    "/deepfence/auth/token", headers: ["content-type": "application/json"],
                    body: ByteBuffer(string: #"{"api_token":"\#(adminKey)"}"#), slot: slot)
                if status == 200, let pair = Self.tokenPair(body) {
                    token = pair.access
                    loggedInAt = elapsed(start)
                }
            }
            let kind = ["vulnerability", "secret", "malware"][(next.index + next.round) % 3]
            let nodeID = "\(configuration.namePrefix)-\(next.index)"
            let (status, _) = await exchange(
                "/api/v1/nodes/\(nodeID)/scans", headers: ["content-type": "application/json", "authorization": "Bearer \(token ?? "")"],
                body: ByteBuffer(string: #"{"kind":"\#(kind)"}"#), slot: slot)
            scanQueueAnswers.withLock { $0[status, default: 0] += 1 }
            due.append((next.index, next.at + scans.interval, next.round + 1))
        }
    }

    func recordLag(since due: Double, now: Double) {
        // The sleep rounds up to the next millisecond: lateness below that is not lag.
        statistics.recordSendLag(.microseconds(Int64(max(0, now - due - 0.001) * 1_000_000)), second: Int(now))
    }

    /// Sends one request; returns its status (0: no answer), body, and whether an answer came.
    func send(
        _ kind: RunStatistics.Kind, _ path: String, json: String? = nil, gzipped: [UInt8]? = nil, token: String?,
        slot: SensorConnection, start: ContinuousClock.Instant
    ) async -> (status: Int, body: ByteBuffer?, answered: Bool) {
        var headers: HTTPHeaders = [:]
        if let token { headers.add(name: "authorization", value: "Bearer \(token)") }
        let body: ByteBuffer?
        if let gzipped {
            headers.add(name: "content-encoding", value: "gzip")
            body = ByteBuffer(bytes: gzipped)
        } else if let json {
            headers.add(name: "content-type", value: "application/json")
            body = ByteBuffer(string: json)
        } else {
            body = nil
        }
        let sent = ContinuousClock.now
        let (status, answer) = await exchange(path, headers: headers, body: body, slot: slot)
        let second = Int((ContinuousClock.now - start).secondsValue)
        statistics.record(kind, status: status, latency: ContinuousClock.now - sent, bytesSent: body?.readableBytes ?? 0, second: second)
        return (status, answer, status != 0)
    }

    /// POSTs on the slot's connection, within the request timeout; status 0: no answer.
    func exchange(_ path: String, headers: HTTPHeaders, body: ByteBuffer?, slot: SensorConnection) async -> (status: Int, body: ByteBuffer?) {
        var status = 0
        var answer: ByteBuffer?
        do {
            let connection = try await slot.get()
            let ticket = deadlines.open(.init(deadline: .now + configuration.requestTimeout, connection: connection, slot: slot))
            defer { deadlines.close(ticket) }
            do {
                let response = try await connection.request(.POST, path, headers: headers, body: body)
                status = Int(response.status.code)
                answer = response.body
            } catch {
                await slot.discard(connection)
            }
        } catch {
            // Could not connect.
        }
        return (status, answer)
    }

    static func tokenPair(_ body: ByteBuffer?) -> (access: String, refresh: String)? {
        guard let body, let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let access = object["access_token"] as? String, let refresh = object["refresh_token"] as? String
        else { return nil }
        return (access, refresh)
    }

    /// The `beatrate` of an answer, read without a JSON parser (`{"beatrate":30,…}`).
    static func beatRate(_ body: ByteBuffer?) -> Int? {
        guard let body else { return nil }
        let text = String(buffer: body)
        guard let range = text.range(of: "\"beatrate\":") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    /// The stable `code` of an error answer.
    static func errorCode(_ body: ByteBuffer?) -> String? {
        guard let body else { return nil }
        let text = String(buffer: body)
        guard let range = text.range(of: "\"code\":\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }

    // MARK: Monitoring

    func updateTimestamp() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = formatter.string(from: Date())
        timestamp.withLock { $0 = text }
    }

    /// Every second: the timestamp sensors put in reports, the console's CPU and memory, and
    /// the status line.
    func monitor(start: ContinuousClock.Instant, duration: Double) async {
        var second = 0
        while true {
            let next = start.advanced(by: .seconds(second + 1))
            try? await Task.sleep(until: next, clock: .continuous)
            updateTimestamp()
            let (console, database) = watchedPIDs()
            // A console inside this process is the fleet's CPU too: not told apart then.
            let fleet = console.contains(getpid()) ? nil : sampler.sample([getpid()])?.cpuPercent
            let databaseCPU = database.isEmpty ? nil : sampler.sample(database)?.cpuPercent
            let autovacuum = database.filter { ProcessSampler.commandLine(of: $0)?.contains("autovacuum worker") == true }
            let autovacuumCPU = databaseCPU == nil ? nil : autovacuumSampler.sample(autovacuum)?.cpuPercent ?? 0
            let sample = sampler.sample(console)
            samples.withLock {
                $0[second] = Sample(cpu: sample?.cpuPercent ?? 0, rss: sample?.rssBytes ?? 0, databaseCPU: databaseCPU,
                                    autovacuumCPU: autovacuumCPU, fleetCPU: fleet)
            }
            if configuration.statusLine { printStatus(second: second) }
            second += 1
            if Double(second) >= duration { return }
        }
    }

    /// The console's processes and its database's (by name, `postgres`), each once.
    func watchedPIDs() -> (console: [Int32], database: [Int32]) {
        // A pattern may match the fleet's own command line; a PID named outright is watched as
        // given (a console running inside this process).
        var pids = Set(configuration.watchPatterns.flatMap { ProcessSampler.pids(matching: $0) })
        pids.remove(getpid())
        pids.formUnion(configuration.watchPIDs)
        if let process = consoleProcess.withLock({ $0 }), process.poll() == nil { pids.insert(process.pid) }
        let database = pids.filter { ProcessSampler.name(of: $0) == "postgres" }
        return (pids.subtracting(database).sorted(), database.sorted())
    }

    func printStatus(second: Int) {
        let summary = statistics.second(second)
        let p99 = summary.reportP99Micros.map { Self.fixed(Double($0) / 1000, 1) + "ms" } ?? "-"
        var line = "t=\(second)s sensors \(running.load(ordering: .relaxed))  reports \(summary.reportsOffered)/s (ack \(summary.reportsAcknowledged))"
            + "  polls \(summary.pollsAcknowledged)/s  p99 report \(p99)  non-2xx \(summary.failed)"
            + (summary.sendLagP99Micros.map { "  fleet lag p99 " + Self.fixed(Double($0) / 1000, 1) + "ms" } ?? "")
        if let sample = samples.withLock({ $0[second] }) {
            line += "  console CPU \(Self.fixed(sample.cpu, 0))% RSS \(Self.fixed(Double(sample.rss) / 1_048_576, 0)) MB"
                + (sample.databaseCPU.map { "  database CPU \(Self.fixed($0, 0))%" } ?? "")
                + (sample.fleetCPU.map { "  fleet CPU \(Self.fixed($0, 0))%" } ?? "")
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    // MARK: Faults and the console process

    func startConsole(_ command: [String]) async throws {
        let process = try ChildProcess(executable: command[0], arguments: Array(command.dropFirst()), outputPath: configuration.consoleLog)
        consoleProcess.withLock { $0 = process }
        // Ready when it answers its health check.
        let deadline = ContinuousClock.now.advanced(by: .seconds(180))
        while ContinuousClock.now < deadline {
            if process.poll() != nil { throw FleetError("the console exited at start; see \(configuration.consoleLog)") }
            if let connection = try? await configuration.target.connect() {
                let ping = try? await connection.request(.GET, "/deepfence/ping")
                await connection.close()
                if ping?.status == .ok { return }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw FleetError("the console did not answer within 180 s; see \(configuration.consoleLog)")
    }

    func runFaults(start: ContinuousClock.Instant) async {
        let faults = (configuration.scenario.faults ?? []).compactMap { fault in Scenario.seconds(fault.at).map { ($0, fault) } }
            .sorted { $0.0 < $1.0 }
        for (at, fault) in faults {
            try? await Task.sleep(until: start.advanced(by: .milliseconds(Int64(at * 1000))), clock: .continuous)
            let outcome = await perform(fault)
            faultRecords.withLock { $0.append(.init(at: at, action: fault.action + (fault.command.map { " " + $0 } ?? ""), outcome: outcome)) }
            FileHandle.standardError.write(Data("fault at \(at)s: \(fault.action): \(outcome)\n".utf8))
        }
    }

    func perform(_ fault: Scenario.Fault) async -> String {
        let process = consoleProcess.withLock { $0 }
        switch fault.action {
        case "stop", "kill":
            guard let process, process.poll() == nil else { return "no running console started by the fleet" }
            process.signal(fault.action == "kill" ? SIGKILL : SIGTERM)
            let status = await process.wait(timeout: .seconds(60))
            return status == nil ? "still running after 60 s" : "exited (wait status \(status!))"
        case "start", "restart":
            if fault.action == "restart", let process, process.poll() == nil {
                process.signal(SIGTERM)
                _ = await process.wait(timeout: .seconds(60))
            }
            guard let command = configuration.consoleCommand else { return "no --console-command to start" }
            do {
                let began = ContinuousClock.now
                try await startConsole(command)
                return "answering again after \(Self.fixed((ContinuousClock.now - began).secondsValue, 1)) s"
            } catch {
                return "failed: \(error)"
            }
        case "command":
            guard let command = fault.command else { return "no command" }
            do {
                let output = "/tmp/fleet-fault-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
                let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", command], outputPath: output)
                let status = await child.wait(timeout: .seconds(120))
                let text = child.output.trimmingCharacters(in: .whitespacesAndNewlines)
                try? FileManager.default.removeItem(atPath: output)
                return "exit status \(status.map { String(($0 >> 8) & 0xff) } ?? "timeout")\(text.isEmpty ? "" : ": " + String(text.suffix(200)))"
            } catch {
                return "failed: \(error)"
            }
        default:
            return "unknown action"
        }
    }

    // MARK: The result

    func makeResult(
        startedAt: String, elapsed: Double, schedule: [(start: Double, stop: Double)], lossCheck: LossCheck?, failures: [String]
    ) -> RunResult {
        let totals = statistics.totals()
        let lastSecond = Int(elapsed.rounded(.up))
        let sampled = samples.withLock { $0 }
        var seconds = (0..<lastSecond).map { statistics.second($0) }
        for index in seconds.indices {
            let t = Double(index)
            seconds[index].sensors = schedule.filter { $0.start <= t && t < $0.stop }.count
            if let sample = sampled[index] {
                seconds[index].consoleCPUPercent = sample.cpu
                seconds[index].consoleRSSBytes = sample.rss
                seconds[index].databaseCPUPercent = sample.databaseCPU
                seconds[index].autovacuumCPUPercent = sample.autovacuumCPU
                seconds[index].fleetCPUPercent = sample.fleetCPU
            }
        }
        func window(_ from: Int, _ to: Int) -> RunResult.Window {
            let span = Double(max(to - from, 1))
            let statuses = statistics.statuses(from: from, to: to)
            let cpu = (from..<to).compactMap { sampled[$0]?.cpu }
            let databaseCPU = (from..<to).compactMap { sampled[$0]?.databaseCPU }
            let autovacuumCPU = (from..<to).compactMap { sampled[$0]?.autovacuumCPU }
            let fleetCPU = (from..<to).compactMap { sampled[$0]?.fleetCPU }
            let reports = statistics.acknowledged(.report, from: from, to: to)
            func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
            // CPU time over the seconds sampled, per report acknowledged in them (ms).
            func perReport(_ values: [Double]) -> Double? {
                guard reports > 0, !values.isEmpty else { return nil }
                return values.reduce(0, +) * 10 / Double(reports) * span / Double(values.count)
            }
            return RunResult.Window(
                from: from, to: to, sensors: seconds[min(max(from, 0), max(seconds.count - 1, 0))...].prefix(max(to - from, 1)).map(\.sensors).max() ?? 0,
                reportsPerSecond: Double(statistics.acknowledged(.report, from: from, to: to)) / span,
                pollsPerSecond: Double(statistics.acknowledged(.poll, from: from, to: to)) / span,
                report: statistics.latency(.report, from: from, to: to), poll: statistics.latency(.poll, from: from, to: to),
                statuses: Dictionary(uniqueKeysWithValues: statuses.map { (String($0.key), $0.value) }),
                nonSuccess: statuses.filter { !(200..<300).contains($0.key) }.reduce(0) { $0 + $1.value },
                consoleCPUPercent: mean(cpu),
                consoleRSSBytesMax: (from..<to).compactMap { sampled[$0]?.rss }.max(),
                sendLag: statistics.sendLag(from: from, to: to),
                cpu: RunResult.CPU(
                    databasePercent: mean(databaseCPU), fleetPercent: mean(fleetCPU),
                    consoleMillisPerReport: perReport(cpu), databaseMillisPerReport: perReport(databaseCPU),
                    autovacuumMillisPerReport: perReport(autovacuumCPU), fleetMillisPerReport: perReport(fleetCPU)))
        }
        // Steady: whole beats after every sensor of the first phase started plus one beat, until
        // the first stops (the console's default beat when the scenario leaves it to the console).
        let steady = SteadyWindow.seconds(
            lastStart: schedule.map(\.start).filter(\.isFinite).max() ?? 0,
            firstStop: min(schedule.map(\.stop).min() ?? elapsed, elapsed), beat: Double(configuration.scenario.beat ?? 30))
        return RunResult(
            target: configuration.target.url, scenario: configuration.scenario, startedAt: startedAt, durationSeconds: elapsed,
            offered: Dictionary(uniqueKeysWithValues: totals.offered.map { ($0.key.rawValue, $0.value) }),
            acknowledged: Dictionary(uniqueKeysWithValues: totals.acknowledged.map { ($0.key.rawValue, $0.value) }),
            statuses: Dictionary(uniqueKeysWithValues: totals.statuses.map { (String($0.key), $0.value) }),
            bytesSent: totals.bytesSent,
            latency: Dictionary(uniqueKeysWithValues: RunStatistics.Kind.allCases.compactMap { kind in
                statistics.latency(kind).map { (kind.rawValue, $0) }
            }),
            overall: window(0, lastSecond),
            steady: steady.map { window($0.from, $0.to) },
            seconds: seconds, faults: faultRecords.withLock { $0 }, lossCheck: lossCheck, failures: failures)
    }
}

extension Duration {
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
