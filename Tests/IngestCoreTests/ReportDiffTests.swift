import IngestTestSupport
import Testing
@testable import IngestCore

struct ReportDiffTests {
    let parser = ReportParser()

    func report(_ processes: [String: String], cpu: Int = 1) throws -> ParsedReport {
        let members = processes.sorted { $0.key < $1.key }.map { id, cmd in
            #""\#(id)":{"metadata":{"cmdline":"\#(cmd)","cpu_usage":\#(cpu),"timestamp":"\#(cpu)"}}"#
        }
        return try parser.parse(Array(#"{"Host":{"h":{"metadata":{"uptime":\#(cpu)}}},"Process":{\#(members.joined(separator: ","))}}"#.utf8))
    }

    @Test func contentDigestIsTheStoredSetInAnyOrder() throws {
        let sent = ContentDigest(report: try report(["p1": "a", "p2": "b", "p3": "c"]))
        #expect(sent.counts == [.host: 1, .process: 3])
        #expect(sent.description.hasPrefix("host=1 process=3 digest="))
        // Metrics that move change nothing stored, so nothing in the digest.
        #expect(ContentDigest(report: try report(["p3": "c", "p1": "a", "p2": "b"], cpu: 9)) == sent)
        // What a console would hold after storing it: the same, built in another order.
        let stored = ReportDiff(previous: nil, report: try report(["p1": "a", "p2": "b", "p3": "c"])).next
        var entries: [(key: UInt64, kind: EntityKind, digest: UInt64)] = []
        stored.forEach { entries.append(($0, $1, $2)) }
        #expect(ContentDigest(NodeSnapshot(entries: entries.reversed())) == sent)
        // A lost row, or a row with other content, is a different digest.
        #expect(ContentDigest(NodeSnapshot(entries: entries.dropLast())) != sent)
        #expect(ContentDigest(report: try report(["p1": "a", "p2": "b", "p3": "changed"])).description != sent.description)
    }

    @Test func firstReportAppearsWhole() throws {
        let diff = ReportDiff(previous: nil, report: try report(["p1": "a", "p2": "b"]))
        #expect(diff.appeared.count == 3)
        #expect(diff.changed.isEmpty && diff.vanished.isEmpty)
        #expect(diff.next.count == 3)
    }

    @Test func unchangedReportIsEmptyEvenWhenMetricsMove() throws {
        let first = ReportDiff(previous: nil, report: try report(["p1": "a", "p2": "b"], cpu: 1))
        let second = ReportDiff(previous: first.next, report: try report(["p1": "a", "p2": "b"], cpu: 7))
        #expect(second.isEmpty)
        #expect(second.unchanged == 3)
    }

    @Test func oneChangedProcessIsExactlyOneChange() throws {
        let first = ReportDiff(previous: nil, report: try report(["p1": "a", "p2": "b", "p3": "c"]))
        let changedReport = try report(["p1": "a", "p2": "B", "p3": "c"])
        let second = ReportDiff(previous: first.next, report: changedReport)
        #expect(second.appeared.isEmpty && second.vanished.isEmpty)
        #expect(second.changed.count == 1)
        #expect(changedReport.id(of: changedReport.entities[Int(second.changed[0])]) == "p2")
    }

    @Test func appearedAndVanished() throws {
        let first = ReportDiff(previous: nil, report: try report(["p1": "a", "p2": "b"]))
        let nextReport = try report(["p1": "a", "p3": "c"])
        let second = ReportDiff(previous: first.next, report: nextReport)
        #expect(second.appeared.map { nextReport.id(of: nextReport.entities[Int($0)]) } == ["p3"])
        #expect(second.vanished == [.init(kind: .process, key: XXH64.hash("p2", seed: EntityKind.process.hashSeed))])
    }

    @Test func duplicateIDsCountOnceLastWins() throws {
        let report = try parser.parse(Array(#"{"Host":{"h":{}},"Process":{"p":{"metadata":{"v":1}},"p":{"metadata":{"v":2}}}}"#.utf8))
        let diff = ReportDiff(previous: nil, report: report)
        #expect(diff.appeared.count == 2)
        #expect(diff.appeared.contains(2))
        #expect(!diff.appeared.contains(1))
    }

    @Test(.needsUpstreamArtefacts) func fixtureAgainstItselfWithNewTimestamps() throws {
        let bytes = try Array(SharedFixtures.agentReportText(hostname: "h").utf8)
        let first = ReportDiff(previous: nil, report: try parser.parse(bytes))
        var text = String(decoding: bytes, as: UTF8.self)
        text = text.replacingOccurrences(of: "2023-05-05T14:1", with: "2024-01-01T00:0")
        let second = ReportDiff(previous: first.next, report: try parser.parse(Array(text.utf8)))
        #expect(second.isEmpty)
        #expect(second.unchanged == first.next.count)
    }

    @Test func snapshotGrowsAndKeepsEntries() {
        var snapshot = NodeSnapshot()
        for key in 1...10_000 as ClosedRange<UInt64> {
            snapshot.insert(key: key &* 0x9E37_79B9_7F4A_7C15 | 1, kind: .process, digest: key)
        }
        #expect(snapshot.count == 10_000)
        #expect(snapshot.lookup(5 &* 0x9E37_79B9_7F4A_7C15 | 1)?.digest == 5)
        #expect(snapshot.lookup(12345) == nil)
    }
}
