import Foundation
import IngestCompression
import IngestCore
import IngestTestSupport
import IngestTransport
import Testing

@Suite(.timeLimit(.minutes(3)))
struct LivenessAndControlsTests {
    @Test func nodeGoesOfflineAfterMissedBeatsOnAFakeClock() async throws {
        let console = try await TestConsole.start("liveness")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let text = try SharedFixtures.agentReportText(hostname: "host-l")
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
            #expect(try await db.count("SELECT count(*) FROM processes WHERE node_id = 'host-l'") == 163)
            let admin = try await console.login(console.adminKey, on: connection).access
            let offline = try json(try await connection.get("/api/v1/nodes?status=offline", token: admin))
            #expect((offline["nodes"] as? [[String: Any]])?.map { $0["id"] as? String } == ["host-l"])
            #expect((try json(try await connection.get("/api/v1/nodes?status=online", token: admin))["nodes"] as? [Any])?.isEmpty == true)

            // A report brings it back online.
            #expect(try await connection.postReport(Gzip.compress(Array(nextBeat(text, beat: 1).utf8)), token: token).status == .ok)
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
            #expect(try await connection.postReport(try gzippedReport(hostname: "host-k"), token: sensor).status == .ok)

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
            #expect(try await connection.postReport(try gzippedReport(hostname: "host-s"), token: sensor).status == .ok)
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
            #expect(try await connection.postReport(try gzippedReport(hostname: "host-s"), token: sensor).status == .ok)
            #expect(second.stack.worker.stats.reportsCommitted == 0)
            // A new beat with the same entities, diffed against the stored snapshot: no entity row written.
            let beat = nextBeat(try SharedFixtures.agentReportText(hostname: "host-s"), beat: 2)
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
