import IngestTestSupport
import Testing
@testable import IngestCore

struct ReportParserTests {
    let parser = ReportParser()

    @Test(.needsUpstreamArtefacts) func parsesTheRealFixture() throws {
        let report = try parser.parse(Array(SharedFixtures.agentReportText(hostname: "host-a").utf8))
        #expect(report.nodeID == "host-a")
        #expect(report.nodeKind == .host)
        #expect(report.reportID == "3594424253868088119")
        #expect(report.timestamp == "2023-05-05T14:18:44.346755072Z")
        let counts = report.counts()
        #expect(counts[.host] == 1)
        #expect(counts[.process] == 163)
        #expect(counts[.container] == 8)
        #expect(counts[.containerImage] == 12)
        #expect(counts[.endpoint] == 7)
        #expect(counts[.connection] == 5)
        #expect(counts[.cloudProvider] == 1)
        #expect(counts[.cloudRegion] == 1)
        #expect(counts[.pod] == nil)
    }

    @Test(.needsUpstreamArtefacts) func entityBodiesAreTheRawObjects() throws {
        let report = try parser.parse(Array(SharedFixtures.agentReportText(hostname: "host-a").utf8))
        let process = try #require(report.entities.first { $0.kind == .process })
        #expect(report.id(of: process) == "host-a;31127")
        let body = report.rawString(process.body)
        #expect(body.hasPrefix("{"))
        #expect(body.hasSuffix("}"))
        #expect(body.contains("\"cmdline\""))
        #expect(report.rawString(process.metrics.memoryUsage) == "499712")
        #expect(report.rawString(process.metrics.openFiles) == "5")
        let connection = try #require(report.entities.first { $0.kind == .connection })
        #expect(report.string(connection.id, escaped: false) == "host-a-4026532529;127.0.0.1;50884")
        #expect(report.string(connection.peer, escaped: false) == "host-a-4026532529;127.0.0.1;10083")
    }

    @Test func digestsIgnoreVolatileMembersOnly() throws {
        let original = try parser.parse(Array(#"{"Host":{"h":{"metadata":{"node_id":"h","timestamp":"t1","cpu_usage":1.5,"uptime":10,"os":"linux"}}}}"#.utf8))
        let beat = try parser.parse(Array(#"{"Host":{"h":{"metadata":{"node_id":"h","timestamp":"t2","cpu_usage":99,"uptime":40,"os":"linux"}}}}"#.utf8))
        let changed = try parser.parse(Array(#"{"Host":{"h":{"metadata":{"node_id":"h","timestamp":"t2","cpu_usage":99,"uptime":40,"os":"bsd"}}}}"#.utf8))
        #expect(original.entities[0].digest == beat.entities[0].digest)
        #expect(original.entities[0].digest != changed.entities[0].digest)
        #expect(original.entities[0].key == changed.entities[0].key)
        #expect(beat.rawString(beat.entities[0].metrics.cpuUsage) == "99")
    }

    /// ThreatMapper's sensors leave a metric out when it is zero (Go's `omitempty`): a process
    /// idle over the last minute has no `cpu_usage`. Wherever a volatile member stands, with
    /// others or alone, the entity hashes as the same text without it: that text's XXH64.
    @Test(arguments: [
        (#"{"metadata":{"node_id":"p","cpu_usage":1.5,"pid":7}}"#, #"{"metadata":{"node_id":"p","pid":7}}"#),
        (#"{"metadata":{"cpu_usage":1.5,"node_id":"p","pid":7}}"#, #"{"metadata":{"node_id":"p","pid":7}}"#),
        (#"{"metadata":{"node_id":"p","pid":7,"cpu_usage":1.5}}"#, #"{"metadata":{"node_id":"p","pid":7}}"#),
        (#"{"metadata":{"timestamp":"t","cpu_usage":1.5,"node_id":"p","memory_usage":9,"open_files_count":3,"pid":7,"uptime":4}}"#,
         #"{"metadata":{"node_id":"p","pid":7}}"#),
        (#"{"metadata":{"timestamp":"t","cpu_usage":1.5},"parents":{"host":"h"}}"#, #"{"metadata":{},"parents":{"host":"h"}}"#),
        (#"{"metadata":{ "node_id" : "p" , "cpu_usage" : 1.5 }}"#, #"{"metadata":{ "node_id" : "p" }}"#),
    ])
    func aVolatileMemberThatComesAndGoesChangesNothing(with: String, without: String) throws {
        func report(_ process: String) -> String { #"{"Host":{"h":{"metadata":{}}},"Process":{"h;7":\#(process)}}"# }
        let sent = try parser.parse(Array(report(with).utf8)).entities[1]
        let missing = try parser.parse(Array(report(without).utf8)).entities[1]
        #expect(sent.digest == missing.digest)
        #expect(sent.digest == XXH64.hash(without, seed: EntityKind.process.hashSeed))
        // The text it leaves is what the digest hashes: a kept member changed is another digest.
        let edited = try parser.parse(Array(report(with.replacingOccurrences(of: #""node_id""#, with: #""node_ID""#)).utf8)).entities[1]
        if with.contains(#""node_id""#) { #expect(edited.digest != sent.digest) }
    }

    /// Rows written by builds before 69883a1 carry the chained digest: recomputed from the body it is
    /// the segments between the cut members (without their commas), each seeding the next.
    @Test func thePreviousDigestIsTheChainedOne() throws {
        let body = #"{"metadata":{"node_id":"p","timestamp":"t","pid":7,"cpu_usage":1.5},"parents":{"host":"h"}}"#
        let report = try parser.parse(Array(#"{"Host":{"h":{"metadata":{}}},"Process":{"h;7":\#(body)}}"#.utf8))
        let seed = EntityKind.process.hashSeed
        var chained = XXH64.hash(#"{"metadata":{"node_id":"p","#, seed: seed)
        chained = XXH64.hash(#","pid":7,"#, seed: chained)
        chained = XXH64.hash(#"},"parents":{"host":"h"}}"#, seed: chained)
        #expect(ReportParser.previousDigest(of: report.entities[1], in: report.bytes) == chained)
        #expect(report.entities[1].digest != chained)
        // With whitespace between the members, as a sensor may send them.
        let spaced = #"{ "metadata" : { "node_id" : "p" , "cpu_usage" : 1.5 , "pid" : 7 } }"#
        let spacedReport = try parser.parse(Array(#"{"Host":{"h":{"metadata":{}}},"Process":{"h;7":\#(spaced)}}"#.utf8))
        let spacedChain = XXH64.hash(#" , "pid" : 7 } }"#, seed: XXH64.hash(#"{ "metadata" : { "node_id" : "p" , "#, seed: seed))
        #expect(ReportParser.previousDigest(of: spacedReport.entities[1], in: spacedReport.bytes) == spacedChain)
        // Without volatile members both digests are the body's hash.
        let plain = try parser.parse(Array(#"{"Host":{"h":{"metadata":{"os":"linux"}}}}"#.utf8))
        #expect(ReportParser.previousDigest(of: plain.entities[0], in: plain.bytes) == plain.entities[0].digest)
        // An endpoint's detached adjacency joined the text around it into one segment.
        let endpoint = try parser.parse(Array(#"{"Host":{"h":{}},"Endpoint":{"e":{"metadata":{"timestamp":"t","port":80},"adjacency":["f"],"sets":{}}}}"#.utf8))
        let e = try #require(endpoint.entities.first { $0.kind == .endpoint })
        let seedE = EntityKind.endpoint.hashSeed
        let before = XXH64.hash(#"{"metadata":{"#, seed: seedE)
        #expect(ReportParser.previousDigest(of: e, in: endpoint.bytes) == XXH64.hash(#","port":80},"sets":{}}"#, seed: before))
    }

    /// An endpoint's `adjacency` is stored as connection rows: it is left out of the endpoint's
    /// digest and stored body wherever it stands among the members (the endpoint hashes as it
    /// would without one), and the connections are still read from it.
    @Test(arguments: [
        (#"{"adjacency":["e2","e3"],"metadata":{"port":80},"sets":{}}"#, #"{"metadata":{"port":80},"sets":{}}"#),
        (#"{"metadata":{"port":80}, "adjacency" : ["e2","e3"] ,"sets":{}}"#, #"{"metadata":{"port":80} ,"sets":{}}"#),
        (#"{"metadata":{"port":80},"sets":{},"adjacency":["e2","e3"]}"#, #"{"metadata":{"port":80},"sets":{}}"#),
        (#"{ "adjacency":["e2","e3"] }"#, #"{  }"#),
        (#"{"metadata":{"timestamp":"t1","port":80},"adjacency":["e2","e3"]}"#, #"{"metadata":{"timestamp":"t1","port":80}}"#),
    ])
    func anEndpointsAdjacencyIsStoredApart(endpoint: String, stored: String) throws {
        func report(_ body: String) -> String { #"{"Host":{"h":{"metadata":{}}},"Endpoint":{"e1":\#(body)}}"# }
        let with = try parser.parse(Array(report(endpoint).utf8))
        let entity = try #require(with.entities.first { $0.kind == .endpoint })
        #expect(with.storedBody(of: entity) == stored)
        #expect(try JSONObject(parsing: Array(stored.utf8))["adjacency"] == nil)
        #expect(with.entities.filter { $0.kind == .connection }.map { with.string($0.peer, escaped: false) } == ["e2", "e3"])
        // The same endpoint without an adjacency (its connections all gone): the same digest.
        let alone = try parser.parse(Array(report(stored).utf8))
        #expect(alone.entities.first { $0.kind == .endpoint }?.digest == entity.digest)
        // Other peers: the same digest (the connection rows change); another member: another digest.
        let otherPeers = try parser.parse(Array(report(endpoint.replacingOccurrences(of: #""e3""#, with: #""e4""#)).utf8))
        #expect(otherPeers.entities.first { $0.kind == .endpoint }?.digest == with.entities.first { $0.kind == .endpoint }?.digest)
        let moved = try parser.parse(Array(report(endpoint.replacingOccurrences(of: #""e2","e3"]"#, with: #""e2","e3"],"x":1"#)).utf8))
        #expect(moved.entities.first { $0.kind == .endpoint }?.digest != with.entities.first { $0.kind == .endpoint }?.digest)
    }

    @Test func aHostsMembersAreStoredWhole() throws {
        let report = try parser.parse(Array(#"{"Host":{"h":{"metadata":{"node_id":"h"},"adjacency":["x"]}}}"#.utf8))
        #expect(report.entities[0].detached.isEmpty)
        #expect(report.storedBody(of: report.entities[0]) == #"{"metadata":{"node_id":"h"},"adjacency":["x"]}"#)
    }

    @Test func escapedIDsAreDecoded() throws {
        let report = try parser.parse(Array(#"{"Host":{"h\u00e9\"x":{"metadata":{}}}}"#.utf8))
        #expect(report.nodeID == "hé\"x")
        #expect(report.entities[0].key == XXH64.hash("hé\"x", seed: EntityKind.host.hashSeed))
    }

    @Test func clusterSensorReport() throws {
        let report = try parser.parse(Array(#"{"KubernetesCluster":{"c1":{"metadata":{"node_type":"kubernetes_cluster"}}},"Pod":{"p1":{},"p2":{}},"Namespace":{"c1-default":{}},"Service":{"s1":{}},"Host":{}}"#.utf8))
        #expect(report.nodeID == "c1")
        #expect(report.nodeKind == .kubernetesCluster)
        #expect(report.counts()[.pod] == 2)
        #expect(report.counts()[.service] == 1)
        #expect(report.counts()[.namespace] == 1)
    }

    static let malformed: [(String, String)] = [
        ("", "end of input"),
        ("[]", "JSON object"),
        (#"{"Host":{"h":{}}"#, "end of input"),
        (#"{"Host":{"h":{}}}x"#, "trailing data"),
        (#"{"Host":{"h":{"metadata":{"a":tru}}}}"#, "literal"),
        (#"{"Host":{"h":{"metadata":{"a":01}}}}"#, "expected ','"),
        (#"{"Host":{"h":{"metadata":{"a":1.}}}}"#, "invalid number"),
        (#"{"Host":{"h":{"metadata":{"a":"x\qy"}}}}"#, "invalid escape"),
        (#"{"Host":{"h":{"metadata":{"a":"x\u0000"}}}}"#, "NUL"),
        (#"{"Host":{"h":{"metadata":{"a":"\ud800"}}}}"#, "surrogate"),
        ("{\"Host\":{\"h\":{\"metadata\":{\"a\":\"tab\there\"}}}}", "control character"),
        (#"{"Host":{"h":[]}}"#, "must be an object"),
        (#"{"Host":{"h":{}},"Process":[1]}"#, "must be an object"),
        (#"{"Host":{"h":{}},"Overlay":{"x":{"a":[1,2,}}}}"#, "unexpected character"),
    ]

    @Test(arguments: 0..<malformed.count)
    func rejectsMalformedJSON(_ index: Int) {
        let (text, expected) = Self.malformed[index]
        #expect {
            _ = try parser.parse(Array(text.utf8))
        } throws: { error in
            guard let error = error as? IngestError else { return false }
            return error.code == .malformedJSON && error.message.contains(expected)
        }
    }

    @Test func rejectsDeepNestingWithItsOwnCode() throws {
        func nested(_ depth: Int) -> [UInt8] {
            Array((#"{"Host":{"h":{}},"Overlay":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8)
        }
        #expect(throws: IngestError.jsonTooDeep(limit: 64, setting: "--max-json-depth")) { try parser.parse(nested(100)) }
        // The bound is the setting: 20 levels pass at 64 and fail at 16.
        _ = try parser.parse(nested(20))
        #expect(throws: IngestError.jsonTooDeep(limit: 16, setting: "--max-json-depth")) {
            try ReportParser(limits: .init(maxDepth: 16)).parse(nested(20))
        }
    }

    @Test func rejectsLongStringsWithTheirOwnCode() throws {
        func report(label: Int, name: Int = 4) -> [UInt8] {
            Array((#"{"Host":{"h":{"latest":{""# + String(repeating: "n", count: name) + #"":{"value":""#
                + String(repeating: "x", count: label) + #""}}}}}"#).utf8)
        }
        let limited = ReportParser(limits: .init(maxStringBytes: 1024))
        _ = try limited.parse(report(label: 1024))
        #expect(throws: IngestError.stringTooLong(limit: 1024, setting: "--max-json-string-bytes")) { try limited.parse(report(label: 1025)) }
        // Member names count too, and escapes as sent.
        #expect(throws: IngestError.stringTooLong(limit: 1024, setting: "--max-json-string-bytes")) { try limited.parse(report(label: 1, name: 2000)) }
        let escaped = Array((#"{"Host":{"h":{"latest":{"a":{"value":""# + String(repeating: #"\u0041"#, count: 200) + #""}}}}}"#).utf8)
        #expect(throws: IngestError.stringTooLong(limit: 1024, setting: "--max-json-string-bytes")) { try limited.parse(escaped) }
        #expect(IngestError.stringTooLong(limit: 1024, setting: nil).httpStatus == 400)
    }

    @Test func rejectsReportsWithoutOneNode() {
        for text in [#"{"Process":{}}"#, #"{"Host":{"a":{},"b":{}}}"#, #"{"Host":{"a":{}},"KubernetesCluster":{}, "Host":{"b":{}}}"#] {
            #expect {
                _ = try parser.parse(Array(text.utf8))
            } throws: { ($0 as? IngestError)?.code == .invalidRequest }
        }
    }

    @Test func limitsEntities() {
        let small = ReportParser(limits: .init(maxEntities: 3))
        #expect {
            _ = try small.parse(Array(#"{"Host":{"h":{}},"Process":{"a":{},"b":{},"c":{}}}"#.utf8))
        } throws: { ($0 as? IngestError)?.setting == "--max-report-entities" }
    }
}
