import Foundation
import IngestCompression
import IngestCore
import IngestTestSupport
import IngestTransport
import Testing

/// The sample report of `hostname` (beat 0), gzipped.
func gzippedReport(hostname: String) -> [UInt8] {
    Gzip.compress(Array(SampleReport.text(hostname: hostname).utf8))
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
