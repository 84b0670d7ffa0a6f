import Foundation
import IngestTestSupport
import Testing
@testable import IngestCore

struct MetricSampleTests {
    let parser = ReportParser()

    @Test func metricsAreGroupedByKindInReportOrderWithTheirRawValues() throws {
        let report = try parser.parse(Array(#"""
            {"Host":{"h":{"metadata":{"node_id":"h","cpu_usage":1.5,"uptime":10,"os":"linux"}}},
             "Process":{"h;1":{"metadata":{"pid":1,"memory_usage":100,"open_files_count":3}},"h;2":{"metadata":{"pid":2}},
                        "h\"3":{"metadata":{"pid":3,"cpu_usage":2.50}}},
             "Container":{"c":{"metadata":{"cpu_usage":7}}}}
            """#.utf8))
        let json = String(decoding: try #require(MetricSample.json(of: report)), as: UTF8.self)
        #expect(json == #"{"host":{"h":{"cpu_usage":1.5,"uptime":10}},"process":{"h;1":{"memory_usage":100,"open_files_count":3},"h\"3":{"cpu_usage":2.50}},"container":{"c":{"cpu_usage":7}}}"#)
    }

    @Test func aReportWithoutMetricsHasNoSample() throws {
        let report = try parser.parse(Array(#"{"Host":{"h":{"metadata":{"node_id":"h","os":"linux"}}}}"#.utf8))
        #expect(MetricSample.json(of: report) == nil)
    }

    @Test(.needsUpstreamArtefacts) func theRealFixturesSampleIsValidJSONWithEveryMeteredEntity() throws {
        try expectSampleHoldsEveryMeteredEntity(of: SharedFixtures.agentReportText(hostname: "host-a"))
    }

    @Test func theSampleReportsSampleIsValidJSONWithEveryMeteredEntity() throws {
        try expectSampleHoldsEveryMeteredEntity(of: SampleReport.text(hostname: "host-a"))
    }

    func expectSampleHoldsEveryMeteredEntity(of text: String) throws {
        let report = try parser.parse(Array(text.utf8))
        let json = try #require(MetricSample.json(of: report))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: [String: [String: Any]]])
        let metered = report.entities.filter { !$0.metrics.isEmpty }
        #expect(object.values.reduce(0) { $0 + $1.count } == metered.count)
        #expect(metered.count > 90)
        #expect((object["process"]?.count ?? 0) > 50)
    }
}
