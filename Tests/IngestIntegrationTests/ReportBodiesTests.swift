import IngestCompression
import IngestCore
import LoadTestCore
import LoadTestRunner
import Testing

/// The fleet's report bodies: the document gzipped whole, its pieces kept as text so that only
/// the head and the pieces that moved are rendered again.
struct ReportBodiesTests {
    @Test(arguments: ["host", "busy", "cluster", "small"])
    func bodiesGunzipToTheReportAndRenderOnlyWhatMoved(profileName: String) throws {
        var profile = try #require(SensorProfile.named(profileName))
        profile.churn = 0.01
        var world = SimulatedSensor(nodeID: "bodies-\(profileName)", profile: profile, seed: 4)
        var bodies = ReportBodies()
        var renderedBefore = 0
        for beat in 1...5 {
            if beat > 1 { world.advance(seconds: 30) }
            // One timestamp throughout: a piece kept from an earlier report then reads as if rendered now.
            let body = bodies.body(of: world, reportID: "r\(beat)", timestamp: "2026-12-06T00:00:00Z", level: 1)
            let json = world.render(reportID: "r\(beat)", timestamp: "2026-12-06T00:00:00Z")
            #expect(try Gzip.decompress(body, limit: 1 << 26) == json)
            #expect(try ReportParser().parse(json).reportID == "r\(beat)")
            // One deflate stream of the document: the size a gzip of it is.
            #expect(body.count <= Gzip.compress(json, level: 1).count + 16)
            // Kept until the run ends (the content check), so it holds no spare capacity: the
            // gzip was made in a buffer the size of the document.
            #expect(body.capacity < body.count + 64, "\(body.count) bytes in a buffer of \(body.capacity)")
            let rendered = bodies.renderedPieces - renderedBefore
            renderedBefore = bodies.renderedPieces
            if beat == 1 {
                #expect(rendered == world.pieces().count)
            } else {
                // The head, the host or cluster entity, the containers and the slices with changes:
                // under half of a larger report's pieces; a small one (8 pieces) still keeps the rest.
                let pieces = world.pieces().count
                #expect(rendered < (pieces >= 16 ? pieces / 2 : pieces), "\(rendered) of \(pieces) pieces rendered again")
            }
        }
    }

    /// A piece kept keeps the time it was rendered at (as an entity's state does); the head and
    /// what moved carry the report's.
    @Test func keptPiecesKeepTheirTime() throws {
        var world = SimulatedSensor(nodeID: "kept", profile: .host, seed: 8)
        var bodies = ReportBodies()
        _ = bodies.body(of: world, reportID: "a", timestamp: "2026-12-06T00:00:00Z", level: 1)
        world.advance(seconds: 30)
        let json = try Gzip.decompress(bodies.body(of: world, reportID: "b", timestamp: "2026-12-06T00:00:30Z", level: 1), limit: 1 << 26)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.hasPrefix(#"{"TS":"2026-12-06T00:00:30Z","ID":"b""#))
        #expect(text.contains("2026-12-06T00:00:00Z"))
        let report = try ReportParser().parse(json)
        #expect(report.reportID == "b")
        // What the console stores is the same as from the document rendered whole now.
        let whole = try ReportParser().parse(world.render(reportID: "b", timestamp: "2026-12-06T00:00:30Z"))
        #expect(ContentDigest(report: report).description == ContentDigest(report: whole).description)
    }
}
