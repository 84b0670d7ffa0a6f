import CFuzzer
import Foundation
import IngestFuzzTargets

// Runs libFuzzer's driver on the target FUZZ_TARGET names (report, gzip, requests, token); with
// FUZZ_WRITE_SEEDS=DIR, writes that target's seed corpus to DIR instead. The arguments are
// libFuzzer's (corpus directories, -max_total_time=…).

let environment = ProcessInfo.processInfo.environment
guard let name = environment["FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    FileHandle.standardError.write(Data("fuzz: set FUZZ_TARGET to one of \(names)\n".utf8))
    exit(2)
}
if let directory = environment["FUZZ_WRITE_SEEDS"] {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for seed in target.seeds() {
        try Data(seed.bytes).write(to: URL(filePath: directory).appending(path: seed.name))
    }
    exit(0)
}

/// The target the C callback runs (it cannot capture).
let selected = target
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
})
