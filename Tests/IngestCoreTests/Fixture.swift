import Foundation

/// The shared ThreatMapper fixtures, read from `../shared` beside the repository (or from
/// `$THREATMAPPER_SHARED`), never copied into the project.
enum Fixture {
    static var sharedDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["THREATMAPPER_SHARED"] {
            return URL(fileURLWithPath: path)
        }
        // Tests/IngestCoreTests/Fixture.swift → repository root → ../shared
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The real host report, with `agent-sed-string` replaced by `hostname`.
    static func agentReport(hostname: String = "agent-sed-string") throws -> [UInt8] {
        let url = sharedDirectory.appendingPathComponent("fixtures/threatmapper/agent-report.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        return Array(text.replacingOccurrences(of: "agent-sed-string", with: hostname).utf8)
    }
}
