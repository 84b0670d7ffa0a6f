import Foundation
import IngestCompression
import IngestCore
import Testing
@testable import IngestFuzzTargets

/// Every committed corpus input and every input a fuzzer once crashed on, replayed through the
/// fuzz targets without the fuzzer: a parser that crashes, hangs or breaks a target's invariant
/// again fails here.
struct FuzzCorpusTests {
    static let fuzzDirectory = URL(filePath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appending(path: "Fuzz")

    static func inputs(_ folder: String, _ target: FuzzTarget) throws -> [URL] {
        let directory = fuzzDirectory.appending(path: folder).appending(path: target.rawValue)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplays(_ target: FuzzTarget) throws {
        let corpus = try Self.inputs("Corpus", target)
        #expect(corpus.count >= target.seeds().count, "the committed corpus holds at least the seeds (make fuzz-seeds)")
        for file in corpus + (try Self.inputs("Regressions", target)) {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAreCommitted(_ target: FuzzTarget) throws {
        let committed = Set(try Self.inputs("Corpus", target).map(\.lastPathComponent))
        for seed in target.seeds() {
            #expect(committed.contains(seed.name), "seed \(seed.name) is in Fuzz/Corpus/\(target.rawValue)")
        }
    }

    /// The seeds reach past the first check of each parser: the valid ones are accepted.
    @Test func validSeedsParse() throws {
        let report = try #require(FuzzTarget.report.seeds().first { $0.name == "report-host" })
        #expect(try FuzzTarget.parser.parse(report.bytes).entities.count > 10)
        let gzip = try #require(FuzzTarget.gzip.seeds().first { $0.name == "gzip-report-cluster" })
        #expect(throws: Never.self) { try gzip.bytes.withUnsafeBytes { try ReportBody.decode($0, contentEncoding: "gzip", limit: 1 << 20, maxRatio: FuzzTarget.gunzipRatio) } }
        let bomb = try #require(FuzzTarget.gzip.seeds().first { $0.name == "bomb-zeros" })
        #expect(throws: IngestError.reportTooLarge(limit: FuzzTarget.gunzipLimit, setting: "--max-report-bytes")) {
            try bomb.bytes.withUnsafeBytes { try ReportBody.decode($0, contentEncoding: "gzip", limit: FuzzTarget.gunzipLimit, maxRatio: 0) }
        }
        // With a ratio bound, the same bomb stops at its ratio, long before the size limit.
        #expect(throws: IngestError.compressionRatio(limit: 100, setting: "--max-compression-ratio")) {
            try bomb.bytes.withUnsafeBytes { try ReportBody.decode($0, contentEncoding: "gzip", limit: FuzzTarget.gunzipLimit, maxRatio: 100) }
        }
        let controls = try #require(FuzzTarget.requests.seeds().first { $0.name == "agent" })
        #expect(try SensorRequest.controls(Array(controls.bytes.dropFirst()), route: .agent).nodeID == "host-é\"1")
        let claims = try #require(FuzzTarget.token.seeds().first { $0.name == "claims-access" })
        let parts = claims.bytes.dropFirst().split(separator: 0, maxSplits: 1).map(Array.init)
        let token = FuzzTarget.signer.signed(header: parts[0], claims: parts[1])
        #expect(try FuzzTarget.signer.verify(Substring(token), kind: .access, now: FuzzTarget.now).keyID == 7)
        #expect(FuzzTarget.signer.isSigned(token))
    }
}
