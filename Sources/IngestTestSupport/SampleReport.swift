import Foundation
import IngestCore
import LoadTestCore

/// A ThreatMapper host report of the project's own making, for the tests that need a realistic
/// report but compare nothing against upstream: the fleet's generator (``SimulatedSensor``) with
/// the `host` profile's shape (160 processes, 8 containers, 12 images, 10 endpoints, 6
/// connections, a cloud provider and region) and nothing starting or exiting between beats.
///
/// Beat 0 is the first report; each later beat is the same world a beat on: a new report ID and
/// timestamp and moved metrics, the same entities, so diffing it against the one before changes
/// no entity.
public enum SampleReport {
    /// The `host` profile without churn.
    public static let profile: SensorProfile = {
        var profile = SensorProfile.host
        profile.name = "sample-host"
        profile.churn = 0
        return profile
    }()

    /// The report ID of beat 0; beat `n` > 0 carries `beat-n`.
    public static let firstReportID = "sample-0"

    /// The report of `hostname` at `beat`, as JSON text.
    public static func text(hostname: String, beat: Int = 0) -> String {
        var sensor = SimulatedSensor(nodeID: hostname, profile: profile, seed: 7)
        for _ in 0..<beat { sensor.advance(seconds: 30) }
        let reportID = beat == 0 ? firstReportID : "beat-\(beat)"
        let timestamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 1_780_000_000 + 30 * Double(beat)))
        return String(decoding: sensor.render(reportID: reportID, timestamp: timestamp), as: UTF8.self)
    }

    /// What the tests look at in one of a report's processes.
    public struct Process: Sendable {
        /// The entity ID (`host;pid`).
        public let id: String
        public let pid: Int
        /// The entity's whole JSON object, as it appears in the report (unique in it).
        public let body: String
        /// The raw JSON number texts of its metrics.
        public let memoryUsage: String
        public let openFiles: String
    }

    /// The first process of a report's text.
    public static func firstProcess(in text: String) throws -> Process {
        let report = try ReportParser().parse(Array(text.utf8))
        guard let entity = report.entities.first(where: { $0.kind == .process }) else {
            throw SampleReportError("the report has no process")
        }
        let id = report.id(of: entity)
        guard let pid = id.split(separator: ";").last.flatMap({ Int($0) }) else { throw SampleReportError("process ID \(id) has no pid") }
        return Process(
            id: id, pid: pid, body: report.rawString(entity.body), memoryUsage: report.rawString(entity.metrics.memoryUsage),
            openFiles: report.rawString(entity.metrics.openFiles))
    }
}

struct SampleReportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
