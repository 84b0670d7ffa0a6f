import ArgumentParser
import Foundation
import LoadTestCore
import LoadTestRunner

/// `fleet run`: simulate a fleet of ThreatMapper sensors against a console.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a fleet of ThreatMapper sensors against a console and check nothing acknowledged is lost.",
        discussion: """
            Each simulated sensor logs in with the API key, calls agent-init, polls its controls \
            every beat/2, sends a gzipped full report every beat, obeys the beat rate the console \
            answers, refreshes its token on 401 and, on 503, waits a random part of the beat. \
            Every second a status line goes to standard error; at the end the result is written \
            as <output>.json and <output>.html, and the loss check compares every sensor's last \
            acknowledged report with what the console stores (it needs --admin-key). The exit \
            status is 1 when the run failed.
            """)

    @Option(help: "The console's URL, https://host:port; repeat it for the gateways of a cluster (sensors are spread over them, the loss check reads through the first).")
    var url: [String]
    @Option(help: "The sensor API key (default: $DEEPFENCE_KEY, which keeps it out of ps).") var key: String?
    @Option(help: "An admin API key, for the loss check (default: $CONSOLE_ADMIN_KEY).") var adminKey: String?
    @Option(help: "A PEM CA certificate to verify the console with (default: no verification, as ThreatMapper sensors).")
    var ca: String?
    @Flag(help: "Speak HTTP/1.1 (as ThreatMapper's Go sensors) instead of HTTP/2.") var http1 = false

    @Option(help: "A scenario file (JSON; see docs/load-testing.md). Overrides the scenario flags below.") var scenario: String?
    @Option(help: "Sensors (steady scenario).") var sensors = 100
    @Option(help: "How long to keep them (steady scenario), e.g. 5m.") var duration = "5m"
    @Option(help: "Start the sensors linearly over this time instead of within the jitter window.") var ramp: String?
    @Option(help: "Profiles (host, busy, cluster, small) and weights, e.g. host=0.9,busy=0.05,cluster=0.05.") var mix = "host=1"
    @Option(help: "A fixed beat in seconds, ignoring the console's beat rate (stress).") var beat: Int?
    @Option(help: "Fraction of processes, connections and pods that change per beat (default: the profile's, 0.01).")
    var churn: Double?
    @Option(help: "Spread sensors that start together over this window (default 30s).") var jitter: String?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Share of requests that are hostile (bad gzip, bombs, oversize bodies, bad tokens, junk JSON), sent by attackers beside the fleet, e.g. 0.01; the run fails if one is let through or a legitimate sensor gets a non-2xx.")
    var hostile: Double?
    @Option(help: "Share of host sensors that run scans: the fleet starts them through the operator API (needs the admin key) and the sensors ship status and findings in batches of at most 100 or every 5 s, e.g. 0.1.")
    var scanners: Double?
    @Option(help: "Findings per scan (default 500).") var findingsPerScan: Int?
    @Option(help: "Findings a scan produces per second (default 50).") var findingsRate: Double?
    @Option(help: "How often each scanning sensor is asked to scan (default 60s).") var scanEvery: String?
    @Option(help: "A fault step, at:action[:command] — e.g. 2m:kill, 2m10s:start, 3m:command:pkill -STOP postgres.")
    var fault: [String] = []

    @Option(help: "Start the console with this command line (needed for stop/kill/start/restart faults).")
    var consoleCommand: String?
    @Option(help: "Where the started console's output goes.") var consoleLog = "/tmp/fleet-console.log"
    @Option(help: "Also report CPU and memory of this process ID (repeatable).") var watchPID: [Int32] = []
    @Option(help: "Also report CPU and memory of processes whose command line contains this text, matched again every second (repeatable); those named postgres are reported as the database, with its CPU per report.")
    var watchProcess: [String] = []
    @Option(help: "Sensors sharing one connection (1: one connection per sensor).") var sensorsPerConnection = 1
    @Option(help: "Give up on a request after this long.") var requestTimeout = "30s"
    @Option(help: "gzip level of the reports, 0 to 9 (1: fastest).") var gzipLevel: Int32 = 1
    @Flag(inversion: .prefixedNo, help: "Compare the entities the console holds per node with the last report acknowledged, in the loss check (the fleet keeps each sensor's last reports compressed and parses them when the run ends).")
    var contentCheck = true
    @Option(help: "Node names are <prefix>-<n> (default: sim-<random>).") var namePrefix: String?
    @Option(help: "Write <output>.json and <output>.html.") var output = "loadtest/results/run"
    @Flag(help: "No status line.") var quiet = false

    func run() async throws {
        let scenario = try loadScenario()
        if let problem = scenario.validate() { throw ValidationError(problem) }
        let connections = (scenario.peakSensors + sensorsPerConnection - 1) / max(sensorsPerConnection, 1)
        try raiseOpenFileLimit(needed: connections + 256)
        guard !url.isEmpty else { throw ValidationError("--url is required") }
        let caPEM = try ca.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let targets = try url.map { try FleetTarget(url: $0, caPEM: caPEM, http2: !http1) }
        let target = targets[0]
        var configuration = FleetRunner.Configuration(
            target: target, sensorKey: try Keys.sensor(key), scenario: scenario,
            namePrefix: namePrefix ?? "sim-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))")
        configuration.moreTargets = Array(targets.dropFirst())
        configuration.adminKey = Keys.admin(adminKey)
        configuration.sensorsPerConnection = max(sensorsPerConnection, 1)
        configuration.consoleCommand = consoleCommand.map { $0.split(separator: " ").map(String.init) }
        configuration.consoleLog = consoleLog
        // Once each, though several patterns match it (a cluster role's command line names its database URL).
        configuration.watchPIDs = watchPID
        configuration.watchPatterns = watchProcess
        guard let timeout = Scenario.seconds(requestTimeout) else { throw ValidationError("--request-timeout: a duration") }
        guard (0...9).contains(gzipLevel) else { throw ValidationError("--gzip-level: 0 to 9, not \(gzipLevel)") }
        configuration.requestTimeout = .milliseconds(Int64(timeout * 1000))
        configuration.gzipLevel = gzipLevel
        configuration.checkContent = contentCheck
        configuration.statusLine = !quiet

        let result = try await FleetRunner(configuration: configuration).run()
        try writeResult(result)
        printSummary(result)
        if !result.passed { throw ExitCode(1) }
    }

    func loadScenario() throws -> Scenario {
        if let scenario {
            let data = try Data(contentsOf: URL(fileURLWithPath: scenario))
            return try JSONDecoder().decode(Scenario.self, from: data)
        }
        var mixWeights: [String: Double] = [:]
        for part in mix.split(separator: ",") {
            let pair = part.split(separator: "=")
            guard pair.count == 2, let weight = Double(pair[1]) else { throw ValidationError("--mix: name=weight,… (not \(part))") }
            mixWeights[String(pair[0])] = weight
        }
        let faults = try fault.map { text -> Scenario.Fault in
            let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count >= 2 else { throw ValidationError("--fault: at:action[:command], not \(text)") }
            return Scenario.Fault(at: parts[0], action: parts[1], command: parts.count > 2 ? parts[2] : nil)
        }
        return Scenario(
            phases: [.init(sensors: sensors, ramp: ramp, hold: duration)], mix: mixWeights, beat: beat, churn: churn,
            jitter: jitter, seed: seed, faults: faults.isEmpty ? nil : faults, hostile: hostile,
            scans: scanners.map { ScanLoad(share: $0, findingsPerScan: findingsPerScan, findingsPerSecond: findingsRate, every: scanEvery) })
    }

    func writeResult(_ result: RunResult) throws {
        let directory = URL(fileURLWithPath: output).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result).write(to: URL(fileURLWithPath: output + ".json"))
        try HTMLReport.render(result).write(toFile: output + ".html", atomically: true, encoding: .utf8)
    }

    func printSummary(_ result: RunResult) {
        func line(_ name: String, _ window: RunResult.Window) -> String {
            let report = window.report
            func ms(_ value: UInt64?) -> String { value.map { String(format: "%.1f ms", Double($0) / 1000) } ?? "-" }
            return "\(name) [\(window.from)s–\(window.to)s, \(window.sensors) sensors]: "
                + String(format: "%.1f reports/s, %.1f polls/s acknowledged; ", window.reportsPerSecond, window.pollsPerSecond)
                + "report p50 \(ms(report?.p50)) p99 \(ms(report?.p99)) p99.9 \(ms(report?.p999)) max \(ms(report?.max)); "
                + "non-2xx \(window.nonSuccess)"
                + (window.sendLag.map { "; fleet send lag p99 \(ms($0.p99)) max \(ms($0.max))" } ?? "")
                + (window.consoleCPUPercent.map { String(format: "; console CPU %.0f%%", $0) } ?? "")
                + (window.consoleRSSBytesMax.map { String(format: ", RSS max %.0f MB", Double($0) / 1_048_576) } ?? "")
                + (window.cpu?.databasePercent.map { String(format: "; database CPU %.0f%%", $0) } ?? "")
                + (window.cpu?.consoleMillisPerReport.map { String(format: "; CPU per report: console %.3f ms", $0) } ?? "")
                + (window.cpu?.databaseMillisPerReport.map { String(format: ", database %.3f ms", $0) } ?? "")
                + (window.cpu?.autovacuumMillisPerReport.map { String(format: " (autovacuum %.3f ms of it)", $0) } ?? "")
                + (window.cpu?.fleetPercent.map { String(format: "; fleet CPU %.0f%%", $0) } ?? "")
                + (window.cpu?.fleetMillisPerReport.map { String(format: ", %.3f ms per report", $0) } ?? "")
        }
        print(line("whole run", result.overall))
        if let steady = result.steady { print(line("steady", steady)) }
        if let loss = result.lossCheck {
            print("loss check: \(loss.passed ? "passed" : "FAILED"): \(loss.sensorsChecked) sensors checked "
                + "(\(loss.contentChecked) down to their entities), \(loss.missingNodes) missing, \(loss.mismatches.count) mismatches")
            for mismatch in loss.mismatches.prefix(20) {
                print("  " + LossCheck.describe(mismatch))
            }
        }
        if let findings = result.findings {
            print("findings check: \(findings.passed ? "passed" : "FAILED"): \(findings.scans) scans (\(findings.completed) completed), "
                + "\(findings.acknowledged) findings acknowledged, \(findings.stored) stored; "
                + String(format: "%.1f findings/s", findings.findingsPerSecond)
                + "; scans queued: " + findings.queued.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
            for mismatch in findings.mismatches.prefix(20) { print("  " + mismatch) }
        }
        if let hostile = result.hostile {
            let answers = hostile.sorted { $0.key < $1.key }.map { request, statuses in
                "\(request) " + statuses.sorted { $0.key < $1.key }.map { "\($0.key == "0" ? "no answer" : $0.key)×\($0.value)" }.joined(separator: " ")
            }
            print("hostile mix: " + answers.joined(separator: "; "))
        }
        for failure in result.failures { print("FAILED: \(failure)") }
        print("results: \(output).json, \(output).html")
    }
}

/// Raises the soft open-file limit to the hard one; fails naming the limit if that is not enough.
func raiseOpenFileLimit(needed: Int) throws {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0 else { return }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(resource, &raised) == 0 { limit = raised }
    }
    if Int(limit.rlim_cur) < needed {
        throw ValidationError(
            "the open-file limit is \(limit.rlim_cur) (hard limit \(limit.rlim_max)) but \(needed) connections and files are needed: raise it (ulimit -n) or use --sensors-per-connection")
    }
}
