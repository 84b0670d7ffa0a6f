import Foundation
import IngestCompression
import IngestCore
import LoadTestCore
import LoadTestRunner

// What one report body costs the fleet to make and the console to read, in-process, for each
// sensor profile: `swift run -c release body-bench [sensors per profile] [beats]`.
//
// Per profile, `sensors` simulated sensors each send `beats` reports (the world advanced 30 s
// between them) made as `fleet run` makes them (`ReportBodies`: the pieces that moved rendered,
// the document gzipped whole at level 1). Printed: the fleet's CPU per report and the part of it
// that gzips the document (timed apart on the same document), the JSON's and the body's size,
// the pieces rendered per report, and the console's gunzip and parse time for that
// body, and the worker's metric sample of the parsed report (`MetricSample.json`, then gzipped at
// level 1 as the worker stores it). The last line weighs the profiles as the mixed load does
// (host 0.9, busy 0.05, cluster 0.05).

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let sensors = arguments.first ?? 50
let beats = arguments.dropFirst().first ?? 10
let mix: [(String, Double)] = [("host", 0.9), ("busy", 0.05), ("cluster", 0.05)]
let timestamp = "2026-12-06T00:00:00.000Z"
let parser = ReportParser()
let clock = ContinuousClock()

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

/// Sums per report.
struct Costs {
    var make = 0.0, makeGzip = 0.0, raw = 0.0, gunzip = 0.0, parse = 0.0, bytes = 0.0, rendered = 0.0, sample = 0.0, sampleGzip = 0.0, sampleBytes = 0.0

    static func + (a: Costs, b: Costs) -> Costs {
        Costs(make: a.make + b.make, makeGzip: a.makeGzip + b.makeGzip, raw: a.raw + b.raw, gunzip: a.gunzip + b.gunzip, parse: a.parse + b.parse, bytes: a.bytes + b.bytes, rendered: a.rendered + b.rendered,
              sample: a.sample + b.sample, sampleGzip: a.sampleGzip + b.sampleGzip, sampleBytes: a.sampleBytes + b.sampleBytes)
    }

    static func * (a: Costs, k: Double) -> Costs {
        Costs(make: a.make * k, makeGzip: a.makeGzip * k, raw: a.raw * k, gunzip: a.gunzip * k, parse: a.parse * k, bytes: a.bytes * k, rendered: a.rendered * k,
              sample: a.sample * k, sampleGzip: a.sampleGzip * k, sampleBytes: a.sampleBytes * k)
    }

    func line(_ label: String) -> String {
        String(format: "%-8@ make %8.1f µs (of it gzip %7.1f µs)   JSON %8.0f B   body %8.0f B   rendered %6.1f pieces   console gunzip %7.1f µs   parse %8.1f µs   "
               + "sample %6.1f µs + gzip %6.1f µs (%6.0f B)",
               label as NSString, make, makeGzip, raw, bytes, rendered, gunzip, parse, sample, sampleGzip, sampleBytes)
    }
}

print("body-bench: \(sensors) sensors per profile, \(beats) reports each after its first (not counted)")
var mixed = Costs()
for (name, weight) in mix {
    guard let profile = SensorProfile.named(name) else { fatalError("no profile \(name)") }
    var sum = Costs()
    for sensor in 0..<sensors {
        var world = SimulatedSensor(nodeID: "bench-\(name)-\(sensor)", profile: profile, seed: UInt64(sensor) + 1)
        var bodies = ReportBodies()
        _ = bodies.body(of: world, reportID: "\(sensor)-0", timestamp: timestamp, level: 1)
        let renderedBefore = bodies.renderedPieces
        for beat in 1...beats {
            world.advance(seconds: 30)
            var body: [UInt8] = []
            sum.make += microseconds(clock.measure { body = bodies.body(of: world, reportID: "\(sensor)-\(beat)", timestamp: timestamp, level: 1) })
            sum.bytes += Double(body.count)
            let whole = world.render(reportID: "\(sensor)-\(beat)", timestamp: timestamp)
            sum.raw += Double(whole.count)
            sum.makeGzip += microseconds(clock.measure { _ = Gzip.compress(whole, level: 1) })
            var json: [UInt8] = []
            sum.gunzip += microseconds(try clock.measure { json = try Gzip.decompress(body, limit: 64 << 20) })
            var report: ParsedReport?
            sum.parse += microseconds(try clock.measure { report = try parser.parse(json) })
            var sample: [UInt8] = []
            sum.sample += microseconds(clock.measure { sample = MetricSample.json(of: report!) ?? [] })
            sum.sampleBytes += Double(sample.count)
            sum.sampleGzip += microseconds(clock.measure { _ = Gzip.compress(sample, level: 1) })
        }
        sum.rendered += Double(bodies.renderedPieces - renderedBefore)
    }
    let perReport = sum * (1 / Double(sensors * beats))
    print(perReport.line(name))
    mixed = mixed + perReport * weight
}
print(mixed.line("mixed"))
