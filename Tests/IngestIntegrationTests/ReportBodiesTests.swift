import IngestCompression
import IngestCore
import LoadTestCore
import LoadTestRunner
import Testing

/// The fleet's report bodies, gzipped from pieces kept compressed between reports.
struct ReportBodiesTests {
    @Test(arguments: ["host", "busy", "cluster"])
    func bodiesGunzipToTheReportAndCompressOnlyWhatChanged(profileName: String) throws {
        var profile = try #require(SensorProfile.named(profileName))
        profile.churn = 0.01
        var world = SimulatedSensor(nodeID: "bodies-\(profileName)", profile: profile, seed: 4)
        var bodies = ReportBodies()
        let pool = CompressorPool(level: 1)
        var compressedBefore = 0
        for beat in 1...5 {
            if beat > 1 { world.advance(seconds: 30) }
            // One timestamp throughout: a piece kept from an earlier report then reads as if rendered now.
            let body = bodies.body(of: world, reportID: "r\(beat)", timestamp: "2026-12-06T00:00:00Z", compressors: pool)
            // zlib checks the combined CRC-32 and the length in the trailer.
            let json = try Gzip.decompress(body, limit: 1 << 26)
            #expect(json == world.render(reportID: "r\(beat)", timestamp: "2026-12-06T00:00:00Z"))
            #expect(try ReportParser().parse(json).reportID == "r\(beat)")
            let compressed = bodies.compressedPieces - compressedBefore
            compressedBefore = bodies.compressedPieces
            if beat == 1 {
                #expect(compressed == world.pieces().count)
            } else {
                // The head, the host or cluster entity, the containers, the slices with changes
                // and the pieces right after those (compressed against their text).
                #expect(compressed < world.pieces().count * 2 / 3, "\(compressed) of \(world.pieces().count) pieces compressed again")
            }
        }
        // Each piece compressed against the one before it, but with Huffman tables of its own:
        // a host's body is about 1.4 times the document gzipped whole, a busy host's 1.2.
        let whole = Gzip.compress(world.render(reportID: "x", timestamp: "2026-12-06T00:00:00Z"), level: 1)
        let assembled = bodies.body(of: world, reportID: "x", timestamp: "2026-12-06T00:00:00Z", compressors: pool)
        #expect(assembled.count < whole.count * 3 / 2, "\(assembled.count) bytes against \(whole.count)")
    }

    /// The default: the whole document gzipped on a pooled stream, the size a gzip of it is.
    @Test func wholeReportsGzipOnAPooledStream() throws {
        let pool = CompressorPool(level: 1)
        let world = SimulatedSensor(nodeID: "whole", profile: .host, seed: 8)
        for reportID in ["a", "b"] {
            let json = world.render(reportID: reportID, timestamp: "2026-12-06T00:00:00Z")
            let body = pool.gzip(json)
            #expect(try Gzip.decompress(body, limit: 1 << 26) == json)
            #expect(body.count < Gzip.compress(json, level: 1).count + 16)
        }
    }

    @Test func piecesLaidEndToEndMakeOneGzipStream() throws {
        let compressor = GzipPieces.Compressor(level: 6)
        let texts: [[UInt8]] = [Array("{\"a\":".utf8), [], Array(repeating: UInt8(ascii: "x"), count: 100_000), Array("}".utf8)]
        let body = GzipPieces.assemble(texts.map { compressor.piece($0) })
        #expect(try Gzip.decompress(body, limit: 1 << 20) == Array(texts.joined()))
        // Against the text before it, a piece that repeats it is a few bytes.
        let line = Array("{\"node_id\":\"host-1;4242\",\"node_type\":\"process\",\"threads\":12}".utf8)
        let alone = compressor.piece(line)
        let after = compressor.piece(line, dictionary: line)
        #expect(after.deflated.count < alone.deflated.count / 2)
        #expect(try Gzip.decompress(GzipPieces.assemble([alone, after]), limit: 1 << 20) == line + line)
        // A wrong CRC in the trailer is caught by any reader.
        var broken = body
        broken[broken.count - 8] ^= 1
        #expect(throws: Gzip.Failure.malformed) { try Gzip.decompress(broken, limit: 1 << 20) }
    }
}
