import Foundation
import IngestConsole
import IngestCore
import IngestTestSupport
import IngestTransport
import LoadTestCore
import LoadTestRunner
import Synchronization
import Testing

/// Short real runs of the load-test harness against an in-process all-in-one.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FleetRunTests {
    func fleet(_ console: TestConsole, sensors: Int, hold: String, prefix: String) throws -> FleetRunner {
        let target = try FleetTarget(url: "https://127.0.0.1:\(console.port)", caPEM: console.tls.certificatePEM, http2: true)
        var configuration = FleetRunner.Configuration(
            target: target, sensorKey: console.sensorKey.token,
            scenario: Scenario(phases: [.init(sensors: sensors, hold: hold)], mix: ["host": 0.9, "cluster": 0.1], jitter: "4s", seed: 3),
            namePrefix: prefix)
        configuration.adminKey = console.adminKey.token
        configuration.statusLine = false
        return FleetRunner(configuration: configuration)
    }

    @Test func twoHundredSensorsForTwentySecondsLoseNothing() async throws {
        let console = try await TestConsole.start("fleet") { configuration in
            configuration.worker.beatRate.baseBeatRate = 5
        }
        do {
            let result = try await fleet(console, sensors: 200, hold: "20s", prefix: "lt").run()
            #expect(result.passed, "\(result.failures)")
            let loss = try #require(result.lossCheck)
            #expect(loss.sensorsChecked == 200)
            #expect(loss.mismatches.isEmpty)
            // Down to the entities of every node (hosts and clusters).
            #expect(loss.contentChecked == 200)
            // Every sensor logged in, initialized (hosts), polled and reported more than once at a 5 s beat.
            #expect(result.acknowledged["login"] == 200)
            // (More than once each on average for reports; polls, which come after the first
            // report, fewer: the suites run in parallel on 2 cores, with hostile clients among
            // them, so the number of beats a debug-built fleet gets through in 20 s varies —
            // CI saw 154 polls.)
            #expect((result.acknowledged["report"] ?? 0) > 200)
            #expect((result.acknowledged["poll"] ?? 0) > 100)
            #expect(result.statuses.keys.allSatisfy { $0 == "200" }, "\(result.statuses)")
            #expect(try await console.database.count("SELECT count(*) FROM nodes WHERE node_id LIKE 'lt-%'") == 200)
            #expect(try await console.database.count("SELECT count(*) FROM nodes WHERE kind = 'kubernetes_cluster'") > 5)
            #expect(HTMLReport.render(result).contains("<svg"))
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func aConsoleThatDropsAWriteFailsTheLossCheck() async throws {
        let console = try await TestConsole.start("fleetdrop") { configuration in
            configuration.worker.beatRate.baseBeatRate = 3
            configuration.ownerWrapper = { DroppingOwner(wrapping: $0, node: "ltdrop-7") }
        }
        do {
            let result = try await fleet(console, sensors: 20, hold: "12s", prefix: "ltdrop").run()
            #expect(!result.passed)
            let loss = try #require(result.lossCheck)
            #expect(loss.mismatches.map(\.nodeID) == ["ltdrop-7"])
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }
}

extension FleetRunTests {
    /// A fleet with hostile requests mixed in (a tenth of them here, to see every kind in a short
    /// run): every hostile request is refused with its status, the legitimate sensors get
    /// nothing but 2xx, and the loss check passes down to the entities.
    @Test func aHostileMixIsRefusedAndTheFleetLosesNothing() async throws {
        try await TestConsole.with("fleethostile", configure: { configuration in
            configuration.worker.beatRate.baseBeatRate = 3
            configuration.gateway.maxBodyBytes = 256 << 10
            configuration.gateway.maxReportBytes = 4 << 20
        }) { console in
            var runner = try fleet(console, sensors: 60, hold: "14s", prefix: "lthostile").configuration
            runner.scenario.hostile = 0.1
            runner.scenario.beat = 3
            runner.hostileOversizeBytes = 300 << 10
            runner.hostileBombBytes = 16 << 20
            let result = try await FleetRunner(configuration: runner).run()
            #expect(result.passed, "\(result.failures)")
            let hostile = try #require(result.hostile)
            // 6 attackers, one request a second for 14 s: every kind comes up.
            #expect(Set(hostile.keys) == Set(HostileRequest.allCases.map(\.rawValue)), "\(hostile)")
            #expect(hostile["bomb"]?["413"] ?? 0 > 0 && hostile["bad_token"]?["401"] ?? 0 > 0, "\(hostile)")
            #expect(result.statuses.keys.allSatisfy { $0 == "200" }, "\(result.statuses)")
            // Every sensor that had a report acknowledged is checked down to its entities (how
            // many got through their first report in 14 s depends on the load beside the run).
            let loss = try #require(result.lossCheck)
            #expect(loss.contentChecked == loss.sensorsChecked && loss.sensorsChecked >= 30, "\(loss.contentChecked) of \(loss.sensorsChecked)")
        }
    }

    /// Entity rows PostgreSQL drops for one node (a trigger skips its process inserts) while the
    /// node row and its latest report ID are written as usual: only the content check sees it.
    @Test func aLostEntityRowFailsTheLossCheck() async throws {
        try await TestConsole.with("fleetrows", configure: { $0.worker.beatRate.baseBeatRate = 3 }) { console in
            _ = try await console.database.rows("""
                CREATE FUNCTION skip_process_rows() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.node_id = 'ltrows-4' THEN RETURN NULL; END IF; RETURN NEW; END $$
                """)
            _ = try await console.database.rows(
                "CREATE TRIGGER skip_process_rows BEFORE INSERT ON processes FOR EACH ROW EXECUTE FUNCTION skip_process_rows()")
            let result = try await fleet(console, sensors: 10, hold: "8s", prefix: "ltrows").run()
            let loss = try #require(result.lossCheck)
            #expect(!result.passed)
            #expect(loss.mismatches.map(\.nodeID) == ["ltrows-4"], "\(loss.mismatches)")
            let mismatch = try #require(loss.mismatches.first)
            // The report ID matched; the entities did not: the host row is there, the processes are not.
            #expect(mismatch.stored == mismatch.acknowledged || mismatch.expectedContent != nil)
            #expect(mismatch.storedContent?.contains("process=") == false, "\(mismatch)")
            #expect(mismatch.expectedContent?.contains("process=") == true, "\(mismatch)")
            // Every other sensor was compared down to its entities.
            #expect(loss.contentChecked == loss.sensorsChecked, "\(loss.contentChecked) of \(loss.sensorsChecked)")
        }
    }
}

/// A shard owner that, for one node, acknowledges every report after the first without
/// writing it: the failure the loss check exists to catch.
final class DroppingOwner: ShardOwner {
    let wrapped: any ShardOwner
    let node: String
    let seen = Mutex(false)

    init(wrapping wrapped: any ShardOwner, node: String) {
        self.wrapped = wrapped
        self.node = node
    }

    func submit(_ report: ParsedReport, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void) {
        let dropped = report.nodeID == node && seen.withLock { seen in
            defer { seen = true }
            return seen
        }
        if dropped {
            completion(.success(3))
            return
        }
        wrapped.submit(report, shard: shard, epoch: epoch, completion: completion)
    }

    func controls(_ request: ControlsRequest, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<AgentControls, IngestError>) -> Void) {
        wrapped.controls(request, shard: shard, epoch: epoch, completion: completion)
    }

    func queueCommand(nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String) async throws -> AgentCommand {
        try await wrapped.queueCommand(nodeID: nodeID, shard: shard, epoch: epoch, actionID: actionID, requestPayload: requestPayload)
    }

    func submitFindings(_ part: FindingsPart, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void) {
        wrapped.submitFindings(part, shard: shard, epoch: epoch, completion: completion)
    }

    func queueScan(
        _ scanID: String, kind: FindingKind, nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String
    ) async throws -> AgentCommand {
        try await wrapped.queueScan(scanID, kind: kind, nodeID: nodeID, shard: shard, epoch: epoch, actionID: actionID, requestPayload: requestPayload)
    }
}

/// A fault step for real: the fleet starts the console binary, kills it mid-run (SIGKILL) and
/// starts it again; no report acknowledged before the crash may be missing afterwards.
@Suite(.timeLimit(.minutes(4)))
struct FleetFaultTests {
    @Test func killingTheConsoleLosesNothingAcknowledged() async throws {
        let binary = try ConsoleProcessTests.binary()
        let dataDirectory = "/tmp/console-fault-test-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        // Keys first (the fleet needs them before it starts the console).
        func createKey(_ role: String) async throws -> String {
            let output = dataDirectory + ".\(role).log"
            defer { try? FileManager.default.removeItem(atPath: output) }
            let process = try ChildProcess(executable: binary, arguments: ["apikey", "create", "--role", role, "--data-dir", dataDirectory],
                                           outputPath: output)
            #expect(ChildProcess.exitedCleanly(await process.wait(timeout: .seconds(90))), "\(process.output)")
            return try #require(process.output.split(separator: "\n").first { $0.hasPrefix("Created") }?.split(separator: " ").last.map(String.init))
        }
        let sensorKey = try await createKey("sensor")
        let adminKey = try await createKey("admin")
        let port = try ConsoleProcessTests.freePort()
        var configuration = FleetRunner.Configuration(
            target: try FleetTarget(url: "https://127.0.0.1:\(port)", caPEM: nil, http2: true), sensorKey: sensorKey,
            scenario: Scenario(phases: [.init(sensors: 30, hold: "30s")], jitter: "3s", seed: 5,
                               faults: [.init(at: "10s", action: "kill"), .init(at: "12s", action: "start")]),
            namePrefix: "fault")
        configuration.adminKey = adminKey
        configuration.consoleCommand = [binary, "all-in-one", "--data-dir", dataDirectory, "--port", String(port),
                                        "--advertise-host", "localhost", "--beat-rate", "3", "--shard-count", "64"]
        configuration.consoleLog = dataDirectory + ".console.log"
        configuration.requestTimeout = .seconds(5)
        configuration.statusLine = false
        defer { try? FileManager.default.removeItem(atPath: dataDirectory + ".console.log") }
        let result = try await FleetRunner(configuration: configuration).run()

        #expect(result.faults.map(\.action) == ["kill", "start"])
        #expect(result.faults.first?.outcome.hasPrefix("exited") == true, "\(result.faults)")
        #expect(result.faults.last?.outcome.hasPrefix("answering again") == true, "\(result.faults)")
        // The outage was felt (requests without an answer or refused), and yet nothing acknowledged is missing.
        #expect(result.statuses.keys.contains { $0 != "200" }, "\(result.statuses)")
        let loss = try #require(result.lossCheck)
        #expect(loss.sensorsChecked == 30)
        #expect(loss.passed, "\(loss.mismatches)")
        // Reports kept being acknowledged after the restart.
        #expect(result.seconds.suffix(10).reduce(0) { $0 + $1.reportsAcknowledged } > 0)
    }
}

extension FleetRunTests {
    @Test func scanningSensorsShipTheirFindingsAndNothingAcknowledgedIsLost() async throws {
        try await TestConsole.with("fleetscan") { configuration in
            configuration.worker.beatRate.baseBeatRate = 5
        } _: { console in
            let target = try FleetTarget(url: "https://127.0.0.1:\(console.port)", caPEM: console.tls.certificatePEM, http2: true)
            var configuration = FleetRunner.Configuration(
                target: target, sensorKey: console.sensorKey.token,
                scenario: Scenario(
                    phases: [.init(sensors: 30, hold: "45s")], jitter: "3s", seed: 5,
                    scans: ScanLoad(share: 0.5, findingsPerScan: 300, findingsPerSecond: 100, every: "12s")),
                namePrefix: "ls")
            configuration.adminKey = console.adminKey.token
            configuration.statusLine = false
            let result = try await FleetRunner(configuration: configuration).run()
            #expect(result.passed, "\(result.failures)")
            let findings = try #require(result.findings)
            #expect(findings.mismatches.isEmpty)
            #expect(findings.scans > 5 && findings.completed > 5, "\(findings)")
            #expect(findings.acknowledged >= findings.completed * 300)
            #expect(findings.stored >= findings.acknowledged)
            #expect((findings.queued["201"] ?? 0) >= findings.scans)
            #expect(result.statuses.keys.allSatisfy { $0 == "200" }, "\(result.statuses)")
            // What the console holds agrees: every completed scan stored its 300 findings once.
            #expect(try await console.database.count("SELECT count(*) FROM scans WHERE status = 'COMPLETE' AND findings <> 300") == 0)
            #expect(try await console.database.count("SELECT count(*) FROM scans WHERE status = 'COMPLETE'") == findings.completed)
        }
    }
}
