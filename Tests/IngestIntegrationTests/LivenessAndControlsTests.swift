import Foundation
import IngestCompression
import IngestCore
@testable import IngestGateway
import IngestStorage
import IngestTestSupport
import IngestTransport
import Logging
import Testing

@Suite(.timeLimit(.minutes(3)))
struct LivenessAndControlsTests {
    @Test func nodeGoesOfflineAfterMissedBeatsOnAFakeClock() async throws {
        let console = try await TestConsole.start("liveness")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let text = SampleReport.text(hostname: "host-l")
            #expect(try await connection.postReport(Gzip.compress(Array(text.utf8)), token: token).status == .ok)
            let db = console.database
            let worker = console.stack.worker

            console.clock.advance(by: .seconds(89))
            try await worker.sweep()
            #expect(try await db.scalar("SELECT online FROM nodes WHERE node_id = 'host-l'") == "true")

            // Three missed 30 s beats: offline, kept, and shown as offline.
            console.clock.advance(by: .seconds(2))
            try await worker.sweep()
            #expect(try await db.scalar("SELECT online FROM nodes WHERE node_id = 'host-l'") == "false")
            #expect(try await db.scalar("SELECT offline_since IS NOT NULL FROM nodes WHERE node_id = 'host-l'") == "true")
            #expect(try await db.count("SELECT count(*) FROM processes WHERE node_id = 'host-l'") == SampleReport.profile.processes)
            let admin = try await console.login(console.adminKey, on: connection).access
            let offline = try json(try await connection.get("/api/v1/nodes?status=offline", token: admin))
            #expect((offline["nodes"] as? [[String: Any]])?.map { $0["id"] as? String } == ["host-l"])
            #expect((try json(try await connection.get("/api/v1/nodes?status=online", token: admin))["nodes"] as? [Any])?.isEmpty == true)

            // A report brings it back online.
            #expect(try await connection.postReport(Gzip.compress(Array(SampleReport.text(hostname: "host-l", beat: 1).utf8)), token: token).status == .ok)
            #expect(try await db.scalar("SELECT online FROM nodes WHERE node_id = 'host-l'") == "true")

            // Past retention it is deleted with everything stored about it.
            console.clock.advance(by: .seconds(7 * 86_400 + 1))
            try await worker.sweep()
            #expect(try await db.count("SELECT count(*) FROM nodes WHERE node_id = 'host-l'") == 0)
            #expect(try await db.count("SELECT count(*) FROM processes WHERE node_id = 'host-l'") == 0)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func queuedCommandIsDeliveredOnce() async throws {
        let console = try await TestConsole.start("commands")
        do {
            let connection = try await console.connect()
            let sensor = try await console.login(console.sensorKey, on: connection).access
            let admin = try await console.login(console.adminKey, on: connection).access
            #expect(try await connection.postReport(gzippedReport(hostname: "host-k"), token: sensor).status == .ok)

            let payload = #"{"action":"StartVulnerabilityScan","request_payload":{"node_id":"host-k","node_type":2,"bin_args":{"scan_id":"scan-1"}}}"#
            let queued = try await connection.postJSON("/api/v1/nodes/host-k/commands", payload, token: admin)
            #expect(queued.status == .created)
            #expect(try json(queued)["action_id"] as? Int == 0)
            // Unknown nodes, unknown actions and actions the sensor has no handler for are refused.
            #expect(try await connection.postJSON("/api/v1/nodes/nobody/commands", payload, token: admin).status == .notFound)
            #expect(try await connection.postJSON("/api/v1/nodes/host-k/commands", #"{"action":"Reboot"}"#, token: admin).status == .badRequest)
            #expect(try await connection.postJSON("/api/v1/nodes/host-k/commands", #"{"action_id":8}"#, token: admin).status == .badRequest)
            #expect(try await connection.postJSON("/api/v1/nodes/host-k/commands", payload, token: sensor).status == .forbidden)

            // No workload: a scan waits.
            let busy = try json(try await connection.postJSON("/deepfence/controls/agent", #"{"node_id":"host-k","available_workload":0}"#, token: sensor))
            #expect((busy["commands"] as? [Any])?.isEmpty == true)
            #expect(busy["beatrate"] as? Int == 30)
            // Workload: delivered, with the payload as a JSON string.
            let first = try json(try await connection.postJSON("/deepfence/controls/agent", #"{"node_id":"host-k","available_workload":2}"#, token: sensor))
            let commands = try #require(first["commands"] as? [[String: Any]])
            #expect(commands.count == 1)
            #expect(commands.first?["id"] as? Int == 0)
            let text = try #require(commands.first?["request_payload"] as? String)
            #expect((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["node_id"] as? String == "host-k")
            // Never twice.
            let second = try json(try await connection.postJSON("/deepfence/controls/agent", #"{"node_id":"host-k","available_workload":2}"#, token: sensor))
            #expect((second["commands"] as? [Any])?.isEmpty == true)
            let initAgain = try json(try await connection.postJSON("/deepfence/controls/agent-init", #"{"node_id":"host-k","available_workload":2,"node_type":"host","version":"v2"}"#, token: sensor))
            #expect((initAgain["commands"] as? [Any])?.isEmpty == true)
            #expect(try await console.database.count("SELECT count(*) FROM node_commands WHERE node_id = 'host-k' AND delivered_at IS NOT NULL") == 1)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func pendingCommandsSurviveARestart() async throws {
        let first = try await TestConsole.start("restart")
        let database = first.database
        do {
            let connection = try await first.connect()
            let sensor = try await first.login(first.sensorKey, on: connection).access
            let admin = try await first.login(first.adminKey, on: connection).access
            #expect(try await connection.postReport(gzippedReport(hostname: "host-s"), token: sensor).status == .ok)
            #expect(try await connection.postJSON("/api/v1/nodes/host-s/commands", #"{"action":"SendAgentDiagnosticLogs"}"#, token: admin).status == .created)
            await connection.close()
        } catch {
            await first.stop()
            throw error
        }
        await first.stop(dropDatabase: false)

        // A new run of the worker on the same database: the pending command and the stored state come back.
        let second = try await TestConsole.start("restart", database: database)
        do {
            let connection = try await second.connect()
            let sensor = try await second.login(second.sensorKey, on: connection).access
            let poll = try json(try await connection.postJSON("/deepfence/controls/agent", #"{"node_id":"host-s","available_workload":0}"#, token: sensor))
            #expect((poll["commands"] as? [[String: Any]])?.first?["id"] as? Int == 5)
            // The same report again: acknowledged without a write (its ID is the stored one).
            let versions = try await rowVersions(database, node: "host-s")
            #expect(try await connection.postReport(gzippedReport(hostname: "host-s"), token: sensor).status == .ok)
            #expect(second.stack.worker.stats.reportsCommitted == 0)
            // A new beat with the same entities, diffed against the stored snapshot: no entity row written.
            let beat = SampleReport.text(hostname: "host-s", beat: 2)
            #expect(try await connection.postReport(Gzip.compress(Array(beat.utf8)), token: sensor).status == .ok)
            #expect(try await rowVersions(database, node: "host-s") == versions)
            await connection.close()
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }
}

@Suite(.timeLimit(.minutes(2)))
struct LoadSheddingTests {
    @Test func fullBacklogAnswers503AndLosesNothingAcknowledged() async throws {
        let console = try await TestConsole.start("shed") { configuration in
            configuration.worker.maxPendingReports = 2
            configuration.worker.writeLanes = 1
            // Reports wait in the lane long enough for the backlog to fill, even on a busy machine.
            configuration.worker.batchLinger = .seconds(5)
        }
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let reports = (0..<6).map { gzippedReport(hostname: "shed-\($0)") }
            let statuses = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for (index, report) in reports.enumerated() {
                    group.addTask { (index, Int(try await connection.postReport(report, token: token).status.code)) }
                    try await Task.sleep(for: .milliseconds(50))
                }
                var statuses: [Int: Int] = [:]
                for try await (index, status) in group { statuses[index] = status }
                return statuses
            }
            let accepted = statuses.filter { $0.value == 200 }.map(\.key)
            let shed = statuses.filter { $0.value == 503 }.map(\.key)
            #expect(accepted.count == 2, "\(statuses)")
            #expect(shed.count == 4, "\(statuses)")
            #expect(console.stack.worker.stats.reportsShed == 4)
            // Every acknowledged report is stored; none of the refused ones is.
            for index in accepted {
                #expect(try await console.database.count("SELECT count(*) FROM processes WHERE node_id = 'shed-\(index)'") == SampleReport.profile.processes)
            }
            for index in shed {
                #expect(try await console.database.count("SELECT count(*) FROM nodes WHERE node_id = 'shed-\(index)'") == 0)
            }
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func beatRateRisesWithAStandingBacklogAndComesBack() async throws {
        let console = try await TestConsole.start("beatrate") { configuration in
            configuration.worker.maxPendingReports = 5
            configuration.worker.writeLanes = 1
            // Reports wait in the lane for 5 s: long enough to build a standing backlog on a busy machine.
            configuration.worker.batchLinger = .seconds(5)
            configuration.worker.beatRate = .init(baseBeatRate: 30, maximumBeatRate: 120, window: .seconds(10))
        }
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let reports = (0..<7).map { gzippedReport(hostname: "standing-\($0)") }
            func post(_ index: Int) -> Task<String, any Error> {
                Task { try await connection.postReport(reports[index], token: token).text }
            }
            // Three reports wait in the lane; eleven (fake) seconds later a fourth finds 3 of 5 slots
            // taken, ten more seconds later a fifth finds 4: the backlog stood above half all window.
            func backlog(reaches count: Int) async throws {
                while console.stack.worker.backlog < count { try await Task.sleep(for: .milliseconds(20)) }
            }
            let early = (0..<3).map(post)
            try await backlog(reaches: 3)
            console.clock.advance(by: .seconds(11))
            let fourth = post(3)
            try await backlog(reaches: 4)
            console.clock.advance(by: .seconds(11))
            let fifth = post(4)
            for task in early { #expect(try await task.value == #"{"beatrate":30}"#) }
            #expect(try await fourth.value == #"{"beatrate":30}"#)
            #expect(try await fifth.value == #"{"beatrate":60}"#)
            // The backlog drained: one mixed window keeps 60; a quiet one lowers it by a quarter,
            // but only once a whole beat (60 s) passed since it was raised.
            console.clock.advance(by: .seconds(11))
            #expect(try await post(5).value == #"{"beatrate":60}"#)
            console.clock.advance(by: .seconds(61))
            #expect(try await post(6).value == #"{"beatrate":45}"#)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    /// Reports refused for load at the gateway (here the worker's backlog is full while its one
    /// lane lingers) stretch the beat sensors are told, in report and poll answers alike, though
    /// the worker's own controller has not moved.
    /// The gateway's refusals reach the coordinator with its heartbeat, the coordinator raises
    /// the cluster's beat, and the gateway hears it with its next heartbeat: the real services,
    /// on a short heartbeat and window.
    @Test func theGatewaysStretchTheBeatWhileWhatTheyForwardIsRefusedForLoad() async throws {
        let console = try await TestConsole.start("gatewaybeat") { configuration in
            configuration.worker.maxPendingReports = 1
            configuration.worker.writeLanes = 1
            configuration.worker.batchLinger = .seconds(5)
            configuration.worker.heartbeatInterval = .milliseconds(250)
            // The worker's own controller concludes no window within the test.
            configuration.worker.beatRate = .init(baseBeatRate: 30, maximumBeatRate: 120, window: .seconds(3600))
            configuration.coordinator.beatRate = .init(minimumRequests: 3, window: .milliseconds(500))
        }
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let poll = #"{"node_id":"refused-0","available_workload":0}"#
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: token).text.contains(#""beatrate":30"#))
            let reports = (0..<5).map { gzippedReport(hostname: "refused-\($0)") }
            let held = Task { try await connection.postReport(reports[0], token: token).text }
            while console.stack.worker.backlog < 1 { try await Task.sleep(for: .milliseconds(20)) }
            for index in 1...4 {
                #expect(try await connection.postReport(reports[index], token: token).status == .serviceUnavailable)
            }
            // 4 of 5 refused: the coordinator doubles the cluster's beat; the gateway hears it.
            var answer = ""
            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while ContinuousClock.now < deadline {
                answer = try await connection.postJSON("/deepfence/controls/agent", poll, token: token).text
                if answer.contains(#""beatrate":60"#) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(answer.contains(#""beatrate":60"#), "\(answer)")
            #expect(console.stack.gateway.loadBeat.floor == 60)
            #expect(try await console.database.scalar("SELECT beat_rate FROM cluster_beat") == "60")
            // The held report's beat was decided when it was taken; the next report's is the
            // stretched one, and the worker (whose own beat is still 30) expects that node's next
            // report by it.
            #expect(try await held.value == #"{"beatrate":30}"#)
            #expect(try await connection.postReport(gzippedReport(hostname: "refused-6"), token: token).text == #"{"beatrate":60}"#)
            #expect(console.stack.worker.currentBeatRate == 30)
            #expect(try await console.database.scalar("SELECT beat_rate FROM nodes WHERE node_id = 'refused-6'") == "60")
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    /// The catalog's side of the cluster's beat: only the lease holder keeps it (a replaced
    /// leader cannot overwrite its successor's), and a gateway's heartbeat writes its totals and
    /// reads the beat back in one statement.
    @Test func onlyTheLeaseHolderKeepsTheClusterBeatAndGatewaysReadItWithTheirHeartbeat() async throws {
        let database = try await TestDatabase.make("clusterbeat")
        do {
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let catalog = CatalogStore(database: database.database, logger: logger)
            #expect(try await catalog.heartbeat(id: "g", role: .gateway, address: "", incarnation: 1, state: .active).beatRate == 0)
            #expect(try await catalog.acquireLease(holder: "leader-a", duration: .seconds(10)))
            #expect(try await catalog.keepClusterBeat(60, leader: "leader-b") == false)
            #expect(try await database.scalar("SELECT count(*) FROM cluster_beat") == "0")
            #expect(try await catalog.keepClusterBeat(60, leader: "leader-a"))
            #expect(try await database.scalar("SELECT beat_rate FROM cluster_beat") == "60")
            let heard = try await catalog.heartbeat(
                id: "g", role: .gateway, address: "", incarnation: 1, state: .active, forwarded: 5, refused: 1)
            #expect(heard.beatRate == 60 && heard.age < .seconds(5))
            let loads = try await catalog.gatewayLoads()
            #expect(loads.gateways == [ClusterBeat.Sample(id: "g", incarnation: 1, forwarded: 5, refused: 1)])
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    /// A beat no leader keeps any more (the coordinators gone) stops stretching sensors.
    @Test func aClusterBeatNoLeaderKeepsIsNoLongerHandedOut() {
        let beat = LoadBeat(timeout: .seconds(30), metrics: GatewayMetrics(), logger: Logger(label: "test"))
        #expect(beat.floor == nil)
        beat.hear(60, age: .seconds(2))
        #expect(beat.floor == 60)
        beat.hear(60, age: .seconds(31))
        #expect(beat.floor == nil)
        beat.hear(90, age: .zero)
        #expect(beat.floor == 90)
        beat.hear(0, age: .zero)
        #expect(beat.floor == nil)
    }

    @Test func sensorsAcknowledgedInOneLargeBatchGetSpreadBeats() async throws {
        let console = try await TestConsole.start("spread") { configuration in
            configuration.worker.writeLanes = 1
            // Every report posted at once waits for the same batch.
            configuration.worker.batchLinger = .seconds(2)
            configuration.worker.beatSpread = .init(seconds: 1, batchThreshold: 8)
        }
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            // Alone in its batch: the beat rate as configured.
            #expect(try await connection.postReport(gzippedReport(hostname: "spread-alone"), token: token).text == #"{"beatrate":30}"#)
            let reports = (0..<16).map { gzippedReport(hostname: "spread-\($0)") }
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for report in reports { group.addTask { try await connection.postReport(report, token: token).text } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let beats = answers.compactMap { text in
                text.split(separator: ":").last.flatMap { Int($0.dropLast()) }
            }
            #expect(beats.count == 16, "\(answers)")
            #expect(beats.allSatisfy { (29...31).contains($0) }, "\(beats)")
            // 16 draws of three values all landing on 30 has a chance of 1 in 43 million.
            #expect(beats.contains { $0 != 30 }, "\(beats)")
            #expect(console.stack.worker.stats.beatsSpread == beats.filter { $0 != 30 }.count)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }
}
