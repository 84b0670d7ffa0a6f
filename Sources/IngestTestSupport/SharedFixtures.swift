import Foundation

/// The shared ThreatMapper fixtures, read from `../shared` beside the repository (or
/// `$THREATMAPPER_SHARED`), never copied into the project.
public enum SharedFixtures {
    public static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["THREATMAPPER_SHARED"] {
            return URL(fileURLWithPath: path)
        }
        // Sources/IngestTestSupport/SharedFixtures.swift → repository root → ../shared
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The repository's root directory.
    public static var repositoryDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The real host report, with `agent-sed-string` replaced by `hostname`.
    public static func agentReportText(hostname: String) throws -> String {
        let url = directory.appendingPathComponent("fixtures/threatmapper/agent-report.json")
        return try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "agent-sed-string", with: hostname)
    }
}
