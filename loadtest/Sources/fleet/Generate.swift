import ArgumentParser
import Foundation
import IngestCompression
import LoadTestCore

/// `fleet generate`: write one simulated sensor's report, to look at or to post by hand.
struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a simulated sensor's report (JSON, or gzipped with --gzip).")

    @Option(help: "host, busy, cluster or small.") var profile = "host"
    @Option(help: "The node's name.") var name = "sim-host"
    @Option(help: "Beats to advance the sensor's world first.") var beats = 0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "gzip the output.") var gzip = false

    func run() async throws {
        guard let profile = SensorProfile.named(profile) else { throw ValidationError("--profile: one of \(SensorProfile.names)") }
        var sensor = SimulatedSensor(nodeID: name, profile: profile, seed: seed)
        for _ in 0..<beats { sensor.advance(seconds: 30) }
        let json = sensor.render(reportID: String(seed), timestamp: ISO8601DateFormatter().string(from: Date()))
        FileHandle.standardOutput.write(Data(gzip ? Gzip.compress(json) : json))
    }
}
