import Foundation
import IngestCompression
import IngestCore
import IngestTestSupport
import IngestTransport
import Testing

/// The fixture report for `hostname`, optionally edited, gzipped.
func gzippedReport(hostname: String, edit: (String) -> String = { $0 }) throws -> [UInt8] {
    Gzip.compress(Array(edit(try SharedFixtures.agentReportText(hostname: hostname)).utf8))
}

/// The same report as a new beat: a new report ID, new timestamps and moved metrics, nothing else.
func nextBeat(_ text: String, beat: Int) -> String {
    text.replacingOccurrences(of: "\"ID\": \"3594424253868088119\"", with: "\"ID\": \"beat-\(beat)\"")
        .replacingOccurrences(of: "\"ID\":\"3594424253868088119\"", with: "\"ID\":\"beat-\(beat)\"")
        .replacingOccurrences(of: "2023-05-05T14:1", with: "2023-05-05T1\(beat % 10):2")
        .replacingOccurrences(of: "\"cpu_usage\": 3.4239677744209467", with: "\"cpu_usage\": \(beat).5")
        .replacingOccurrences(of: "\"memory_usage\": 499712", with: "\"memory_usage\": \(499_712 + beat)")
}

/// (table, entity key, row version) of every stored entity of a node: equal before and after
/// means no entity row was inserted, updated or deleted.
func rowVersions(_ database: TestDatabase, node: String) async throws -> [String] {
    var versions: [String] = []
    for kind in EntityKind.allCases {
        let rows = try await database.rows(
            "SELECT entity_key::text, xmin::text FROM \(kind.tableName) WHERE node_id = '\(node)' ORDER BY entity_key")
        versions += rows.map { "\(kind.tableName) \($0[0] ?? "") \($0[1] ?? "")" }
    }
    return versions
}

/// The JSON object of a response body.
func json(_ response: ClientResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any])
}
