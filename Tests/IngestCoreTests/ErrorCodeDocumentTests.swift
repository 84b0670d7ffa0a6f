import Foundation
import IngestTestSupport
import Testing
@testable import IngestCore

/// docs/sensor-api.md's error table names every stable code under the status it is answered with.
@Test func everyErrorCodeIsDocumentedUnderItsStatus() throws {
    let document = try String(
        contentsOf: SharedFixtures.repositoryDirectory.appendingPathComponent("docs/sensor-api.md"), encoding: .utf8)
    let rows = document.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.first(where: \.isNumber) != nil }
    for code in IngestError.Code.all {
        let status = IngestError.relayed(code: code.rawValue, message: "", setting: nil).httpStatus
        let row = rows.first { $0.contains("`\(code.rawValue)`") }
        #expect(row != nil, "docs/sensor-api.md does not name \(code.rawValue)")
        if let row {
            #expect(row.dropFirst(2).prefix { $0 != "|" }.contains(String(status)), "\(code.rawValue) is answered \(status): \(row.prefix(40))")
        }
    }
}
