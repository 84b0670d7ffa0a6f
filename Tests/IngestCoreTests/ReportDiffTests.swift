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

    /// A process that went idle (its `cpu_usage` left out, as the sensor's `omitempty` does) is
    /// unchanged; one whose row a build before 69883a1 wrote is rewritten with the new digest
    /// but not logged; one whose content changed is changed under either digest.
    @Test func aMissingMetricAndAnOldDigestAreNoChange() throws {
        func report(_ cmdline: String, cpu: String?) throws -> ParsedReport {
            let metric = cpu.map { #","cpu_usage":\#($0)"# } ?? ""
            return try parser.parse(Array(#"{"Host":{"h":{}},"Process":{"p":{"metadata":{"node_id":"p"\#(metric),"cmdline":"\#(cmdline)"}}}}"#.utf8))
        }
        let busy = try report("a", cpu: "3.5")
        let first = ReportDiff(previous: nil, report: busy)
        let idle = ReportDiff(previous: first.next, report: try report("a", cpu: nil))
        #expect(idle.isEmpty && idle.unchanged == 2)
        #expect(ReportDiff(previous: idle.next, report: try report("a", cpu: "0.5")).isEmpty)

        // The snapshot as a build before 69883a1 stored it: the chained digests.
        var old: [(key: UInt64, kind: EntityKind, digest: UInt64)] = []
        for entity in busy.entities {
            old.append((entity.key, entity.kind, try #require(ReportParser.previousDigest(of: entity, in: busy.bytes))))
        }
        #expect(old[1].digest != busy.entities[1].digest)
        let upgraded = ReportDiff(previous: NodeSnapshot(entries: old), report: try report("a", cpu: "7"))
        #expect(upgraded.rehashed == [1] && upgraded.changed.isEmpty && upgraded.unchanged == 1)
        #expect(upgraded.next.lookup(busy.entities[1].key)?.digest == busy.entities[1].digest)
        let edited = ReportDiff(previous: NodeSnapshot(entries: old), report: try report("b", cpu: "7"))
        #expect(edited.changed == [1] && edited.rehashed.isEmpty)
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
