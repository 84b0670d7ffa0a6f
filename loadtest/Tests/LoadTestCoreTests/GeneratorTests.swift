import IngestCore
import Testing
@testable import LoadTestCore

struct GeneratorTests {
    let parser = ReportParser()

    @Test func hostReportsParseWithTheConsolesParserAndHaveTheRequestedShape() throws {
        let sensor = SimulatedSensor(nodeID: "sim-7", profile: .host, seed: 7)
        let report = try parser.parse(sensor.render(reportID: "r1", timestamp: "2026-11-25T10:00:00Z"))
        #expect(report.nodeID == "sim-7")
        #expect(report.nodeKind == .host)
        #expect(report.reportID == "r1")
        let counts = report.counts()
        #expect(counts[.host] == 1)
        #expect(counts[.process] == 160)
        #expect(counts[.container] == 8)
        #expect(counts[.containerImage] == 12)
        #expect(counts[.endpoint] == 10)
        #expect(counts[.connection] == 6)
        #expect(counts[.cloudProvider] == 1)
        #expect(counts[.cloudRegion] == 1)
    }

    @Test func busyHostsAreNearOneMegabyteWithThousandsOfEndpoints() throws {
        let bytes = SimulatedSensor(nodeID: "busy-1", profile: .busyHost, seed: 3).render(reportID: "r", timestamp: "t")
        #expect(bytes.count > 800_000 && bytes.count < 1_300_000)
        let report = try parser.parse(bytes)
        #expect((report.counts()[.endpoint] ?? 0) > 2_400)
        #expect((report.counts()[.connection] ?? 0) > 1_700)
    }

    @Test func clusterSensorReports() throws {
        let report = try parser.parse(SimulatedSensor(nodeID: "c-9", profile: .cluster, seed: 9).render(reportID: "r", timestamp: "t"))
        #expect(report.nodeKind == .kubernetesCluster)
        #expect(report.nodeID == "c-9")
        #expect(report.counts()[.pod] == 120)
        #expect(report.counts()[.service] == 40)
        #expect(report.counts()[.namespace] == 10)
    }

    @Test func sensorsDifferFromEachOther() throws {
        let a = try parser.parse(SimulatedSensor(nodeID: "a", profile: .host, seed: 1).render(reportID: "r", timestamp: "t"))
        let b = try parser.parse(SimulatedSensor(nodeID: "b", profile: .host, seed: 2).render(reportID: "r", timestamp: "t"))
        let idsA = Set(a.entities.filter { $0.kind == .container }.map { a.id(of: $0) })
        let idsB = Set(b.entities.filter { $0.kind == .container }.map { b.id(of: $0) })
        #expect(idsA.isDisjoint(with: idsB))
    }

    /// A busy host's connections come and go every beat, so its endpoints gain and lose their
    /// `adjacency`; its endpoints' own members change only when one is replaced (a new ID). The
    /// console's diff sees no endpoint changed.
    @Test func connectionsComingAndGoingChangeNoEndpoint() throws {
        var sensor = SimulatedSensor(nodeID: "busy-c", profile: .busyHost, seed: 3)
        var previous = ReportDiff(previous: nil, report: try parser.parse(sensor.render(reportID: "1", timestamp: "t1"))).next
        var appearedConnections = 0
        for beat in 2...4 {
            sensor.advance(seconds: 60)
            let next = try parser.parse(sensor.render(reportID: String(beat), timestamp: "t\(beat)"))
            let diff = ReportDiff(previous: previous, report: next)
            #expect(diff.changed.filter { next.entities[Int($0)].kind == .endpoint }.isEmpty)
            appearedConnections += diff.appeared.filter { next.entities[Int($0)].kind == .connection }.count
            previous = diff.next
        }
        #expect(appearedConnections > 100)
    }

    @Test func beatsChangeAboutTheChurnFractionAndMetricsMoveWithoutChangingEntities() throws {
        var profile = SensorProfile.host
        profile.churn = 0.05
        var sensor = SimulatedSensor(nodeID: "churn", profile: profile, seed: 11)
        let first = try parser.parse(sensor.render(reportID: "1", timestamp: "t1"))
        let diff0 = ReportDiff(previous: nil, report: first)
        var changedProcesses = 0
        var previous = diff0.next
        for beat in 2...11 {
            sensor.advance(seconds: 30)
            let next = try parser.parse(sensor.render(reportID: String(beat), timestamp: "t\(beat)"))
            let diff = ReportDiff(previous: previous, report: next)
            changedProcesses += diff.appeared.filter { next.entities[Int($0)].kind == .process }.count
            previous = diff.next
        }
        // 160 processes × 5 % × 10 beats ≈ 80 replaced; the host's metrics moved every beat without changing it.
        #expect(changedProcesses > 40 && changedProcesses < 130)

        var still = SensorProfile.host
        still.churn = 0
        var quiet = SimulatedSensor(nodeID: "quiet", profile: still, seed: 5)
        let before = try parser.parse(quiet.render(reportID: "1", timestamp: "t1"))
        quiet.advance(seconds: 30)
        let after = try parser.parse(quiet.render(reportID: "2", timestamp: "t2"))
        #expect(ReportDiff(previous: ReportDiff(previous: nil, report: before).next, report: after).isEmpty)
        // Over more beats the processes' `cpu_usage` comes and goes (a process idle over a beat
        // sends none) and still nothing changes.
        var previous2 = ReportDiff(previous: nil, report: after).next
        var busy = Set(after.entities.filter { $0.kind == .process && !$0.metrics.cpuUsage.isEmpty }.map { after.id(of: $0) })
        var toggled = 0
        for beat in 3...12 {
            quiet.advance(seconds: 30)
            let next = try parser.parse(quiet.render(reportID: String(beat), timestamp: "t\(beat)"))
            let diff = ReportDiff(previous: previous2, report: next)
            #expect(diff.isEmpty, "beat \(beat): \(diff.changed.count) changed")
            let now = Set(next.entities.filter { $0.kind == .process && !$0.metrics.cpuUsage.isEmpty }.map { next.id(of: $0) })
            toggled += now.symmetricDifference(busy).count
            busy = now
            previous2 = diff.next
        }
        #expect(toggled >= 3)
        #expect(before.rawString(before.entities.first { $0.kind == .host }!.metrics.cpuUsage)
            != after.rawString(after.entities.first { $0.kind == .host }!.metrics.cpuUsage)
            || before.rawString(before.entities.first { $0.kind == .host }!.metrics.memoryUsage)
            != after.rawString(after.entities.first { $0.kind == .host }!.metrics.memoryUsage))
    }

    /// A fleet sends a piece as it rendered it before while the piece's version stayed: that
    /// is only right if every change of the world moves the version of each piece it shows in.
    @Test(arguments: ["host", "busy", "cluster", "small"])
    func piecesWhoseVersionStayedRenderAsBefore(profileName: String) throws {
        var profile = try #require(SensorProfile.named(profileName))
        profile.churn = 0.03
        var sensor = SimulatedSensor(nodeID: "pieces-\(profileName)", profile: profile, seed: 21)
        var previous = Dictionary(uniqueKeysWithValues: zip(sensor.pieces(), sensor.render(sensor.pieces(), reportID: "1", timestamp: "t")).map {
            ($0.0.key, (version: $0.0.version, text: $0.1))
        })
        var kept = 0
        for beat in 2...8 {
            sensor.advance(seconds: 30)
            let pieces = sensor.pieces()
            let texts = sensor.render(pieces, reportID: String(beat), timestamp: "t")
            #expect(Array(texts.joined()) == sensor.render(reportID: String(beat), timestamp: "t"))
            for (piece, text) in zip(pieces, texts) {
                if let version = piece.version, let before = previous[piece.key], before.version == version {
                    #expect(before.text == text, "piece \(piece.key) changed at version \(version)")
                    kept += 1
                }
            }
            previous = Dictionary(uniqueKeysWithValues: zip(pieces, texts).map { ($0.0.key, (version: $0.0.version, text: $0.1)) })
        }
        // Most pieces stay from one beat to the next; the report still parses whole.
        #expect(kept > 7 * (previous.count / 3))
        let report = try parser.parse(sensor.render(reportID: "last", timestamp: "t"))
        #expect(report.reportID == "last")
    }

    @Test func jsonWriterEscapesAndPlacesCommas() throws {
        var json = JSONWriter()
        json.beginObject()
        json.member("a", "x\"y\n")
        json.key("b")
        json.beginArray()
        json.value(1)
        json.value(2.5)
        json.value(true)
        json.endArray()
        json.key("c")
        json.beginObject()
        json.endObject()
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a":"x\"y\n","b":[1,2.5,true],"c":{}}"#)
    }
}
