import Foundation
import IngestCore

// Parse + diff time per report, measured in-process: `swift run -c release ingest-bench <report.json>`.
// Prints the median and p99 of per-report times over many rounds, and the same for a
// Foundation JSONSerialization baseline measured in the same run.

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: ingest-bench <report.json> [rounds]")
    exit(2)
}
let template = try String(contentsOf: URL(fileURLWithPath: arguments[1]), encoding: .utf8)
let rounds = arguments.count >= 3 ? Int(arguments[2]) ?? 2000 : 2000
let bytes = Array(template.replacingOccurrences(of: "agent-sed-string", with: "bench-host").utf8)
// A second beat: same entities, new timestamps and metrics, so the diff runs its full path.
let beat = Array(template.replacingOccurrences(of: "agent-sed-string", with: "bench-host")
    .replacingOccurrences(of: "2023-05-05T14:1", with: "2023-05-05T15:2").utf8)

let parser = ReportParser()
let clock = ContinuousClock()

func measure(_ label: String, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    samples.reserveCapacity(rounds)
    for _ in 0..<50 { try body() }
    for _ in 0..<rounds {
        let elapsed = try clock.measure(body)
        samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
    }
    samples.sort()
    let median = samples[samples.count / 2]
    let p99 = samples[samples.count * 99 / 100]
    let mbps = Double(bytes.count) / median
    print(String(format: "%-28@ median %8.1f µs  p99 %8.1f µs  %7.0f MB/s", label as NSString, median, p99, mbps))
    return median
}

let first = ReportDiff(previous: nil, report: try parser.parse(bytes))
var sink = 0
print("report: \(bytes.count) bytes, \(first.next.count) entities, \(rounds) rounds")
let parseOnly = try measure("parse") { sink &+= try parser.parse(beat).entities.count }
let parseDiff = try measure("parse + diff") {
    let diff = ReportDiff(previous: first.next, report: try parser.parse(beat))
    sink &+= diff.unchanged
}
let foundation = try measure("Foundation JSONSerialization") {
    let object = try JSONSerialization.jsonObject(with: Data(beat))
    sink &+= (object as? [String: Any])?.count ?? 0
}
print(String(format: "ratio Foundation / (parse + diff): %.1f×", foundation / parseDiff))
_ = parseOnly
if sink == 42 { print("") }
