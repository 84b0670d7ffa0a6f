import Foundation
import Testing

/// The shared ThreatMapper fixtures, read from `../shared` beside the repository (or
/// `$THREATMAPPER_SHARED`), never copied into the project.
///
/// Only the tests that compare against these upstream artefacts read them, and they run only
/// when the directory is there (CI always has it); cloned alone, they are left out with
/// ``skipNote`` and every other test uses data the project makes itself (``SampleReport``).
public enum SharedFixtures {
    public static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["THREATMAPPER_SHARED"] {
            return URL(fileURLWithPath: path)
        }
        return repositoryDirectory.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// Whether the upstream artefacts are there to compare against.
    public static var available: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("fixtures/threatmapper/agent-report.json").path)
            && FileManager.default.fileExists(atPath: directory.appendingPathComponent("sensor-api/threatmapper-sensor-api.yaml").path)
    }

    /// Why the tests that compare against upstream are left out.
    public static var absenceNote: String {
        "\(directory.path) is not there (set THREATMAPPER_SHARED to the directory with ThreatMapper's fixtures/ and sensor-api/)"
    }

    /// The repository's root directory (Sources/IngestTestSupport/SharedFixtures.swift → root).
    public static var repositoryDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The real host report, with `agent-sed-string` replaced by `hostname`.
    public static func agentReportText(hostname: String) throws -> String {
        let url = directory.appendingPathComponent("fixtures/threatmapper/agent-report.json")
        return try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "agent-sed-string", with: hostname)
    }
}

extension Trait where Self == ConditionTrait {
    /// For a test that compares against the upstream artefacts: it runs when they are there.
    public static var needsUpstreamArtefacts: Self {
        .enabled(if: SharedFixtures.available, Comment(rawValue: "compares against upstream; " + SharedFixtures.absenceNote))
    }
}
