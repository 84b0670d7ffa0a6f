import Foundation
import IngestCore
import Testing

struct SBOMUploadReaderTests {
    /// Feeds `body` in pieces of `piece` bytes; the decoded SBOM and the fields.
    func read(_ body: String, piece: Int) throws(IngestError) -> ([UInt8], SBOMUploadReader.Fields) {
        var reader = SBOMUploadReader()
        var decoded: [UInt8] = []
        let bytes = Array(body.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + piece, bytes.count)
            let slice = Array(bytes[start..<end])
            let fed = slice.withUnsafeBytes { raw in Result { () throws(IngestError) in try reader.feed(raw) } }
            decoded += try fed.get()
            start = end
        }
        return (decoded, try reader.finish())
    }

    @Test(arguments: [1, 2, 3, 7, 64, 1 << 20])
    func decodesTheSBOMWhateverThePieceSize(piece: Int) throws {
        let sbom = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        for length in [sbom.count, sbom.count - 1, sbom.count - 2] {
            let base64 = Data(sbom.prefix(length)).base64EncodedString()
            let body = #" {"image_name":"nginx:1.25","scan_id":"host-1-17","sbom":"\#(base64)","skip_scan":false, "n": 3, "x": {"a": ["}", "\""]}, "node_id":"h\u00e9"} "#
            let (decoded, fields) = try read(body, piece: piece)
            #expect(decoded == Array(sbom.prefix(length)))
            #expect(fields.sbomBytes == length)
            #expect(fields.hasSBOM)
            #expect(fields.strings["scan_id"] == "host-1-17")
            #expect(fields.strings["image_name"] == "nginx:1.25")
            #expect(fields.strings["node_id"] == "hé")
            #expect(fields.strings["n"] == "3")
            #expect(fields.booleans["skip_scan"] == false)
        }
    }

    @Test func escapedSlashesAndWrappedLinesAreTaken() throws {
        let sbom: [UInt8] = [0xFF, 0xFE, 0xFD, 0x3F, 0xFF, 0xFF]  // base64 with "/" in it
        let base64 = Data(sbom).base64EncodedString()
        #expect(base64.contains("/"))
        let escaped = base64.replacingOccurrences(of: "/", with: "\\/")
        let wrapped = String(escaped.prefix(4)) + "\\n" + String(escaped.dropFirst(4))
        let (decoded, _) = try read(#"{"sbom":"\#(wrapped)","scan_id":"a-1"}"#, piece: 5)
        #expect(decoded == sbom)
    }

    @Test(arguments: [
        (#"{"sbom":"QUJD!"}"#, "not base64"),
        (#"{"sbom":"QUI"}"#, "multiple of 4"),
        (#"{"sbom":"QQ==QUJD"}"#, "not base64"),
        (#"{"sbom":"Q==="}"#, "padding"),
        (#"{"sbom":"QUJD\u0041"}"#, "escape"),
        (#"{"sbom":12}"#, "must be a string"),
        (#"{"sbom":"QUJD""#, "ends before"),
        (#"["sbom"]"#, "JSON object"),
        (#"{"sbom":"QUJD",}"#, "member name"),
        (#"{"sbom":"QUJD"} x"#, "trailing data"),
    ])
    func badUploadsAreRefusedWithTheReason(body: String, reason: String) {
        #expect {
            _ = try read(body, piece: 3)
        } throws: { error in
            (error as? IngestError).map { $0.httpStatus == 400 && $0.message.contains(reason) } ?? false
        }
    }

    @Test func longFieldsAreRefused() {
        let body = #"{"image_name":""# + String(repeating: "a", count: 5000) + #"","sbom":"QUJD"}"#
        #expect(throws: IngestError.self) { _ = try read(body, piece: 1000) }
    }
}
