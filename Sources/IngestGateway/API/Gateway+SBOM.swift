import Crypto
import Foundation
import IngestCompression
import IngestCore
import IngestStorage
import IngestTransport
import NIOCore
import NIOPosix

/// `POST /deepfence/ingest/sbom`: an SBOM upload (base64 of a gzipped SBOM in a JSON object, up
/// to `--max-sbom-bytes`), taken in bounded memory from start to end.
///
/// ## Overview
/// 1. The token is checked from the request head, before any of the body is taken, and the disk
///    the upload needs is reserved (``SpoolBudget``: its announced size, or `--max-sbom-bytes`
///    without one, and its decoded SBOM); when `--max-spool-bytes` has no room for it, it is
///    refused then with 503 and `Retry-After`, before a byte is written. The body is written to
///    a file in `--upload-dir` as it arrives (``BodyIntake/spool(directory:timeout:lease:)``).
/// 2. Off the event loops, the file is read 1 MiB at a time: the JSON is scanned, `sbom` decoded
///    from base64 into a second file, its gzip checked (one complete stream) and hashed.
/// 3. The gzipped SBOM is stored in 1 MiB parts in the placement of the scan's node, then its row
///    goes to the node's owner like findings (fenced), which also creates the scan if needed.
/// 4. `200 {"scan_id", "bytes", "sha256"}` once the row committed; both files are deleted.
extension Gateway {
    static let sbomPath = "/deepfence/ingest/sbom"

    static func isSBOMUpload(_ uri: String) -> Bool { uri == sbomPath || uri.hasPrefix(sbomPath + "?") }

    public func bodyIntake(uri: String, headers: RequestHeaders) -> BodyIntake {
        guard Self.isSBOMUpload(uri) else { return .collect }
        do {
            _ = try authenticator.authorize(authorization: headers.first(name: "authorization"), role: .sensor, now: clock.now())
        } catch {
            metrics.error(error)
            return .refuse(.error(error))
        }
        if let encoding = headers.first(name: "content-encoding"), encoding.lowercased() != "identity" {
            // The SBOM inside is gzipped already; the upload itself is plain JSON.
            let error = IngestError.unsupportedEncoding(encoding)
            metrics.error(error)
            return .refuse(.error(error))
        }
        // (A length over --max-sbom-bytes was refused with 413 before this was asked.)
        let length = headers.first(name: "content-length").flatMap { Int($0) }.map { min(max($0, 0), configuration.maxSBOMBytes) }
        guard let lease = spoolBudget.reserve(SpoolBudget.bytes(forUpload: length ?? configuration.maxSBOMBytes)) else {
            let error = IngestError.spoolFull(capacity: spoolBudget.capacity)
            metrics.error(error)
            return .refuse(.error(error))
        }
        return .spool(directory: configuration.uploadDirectory, timeout: configuration.uploadTimeout, lease: lease)
    }

    func ingestSBOM(_ request: HTTPRequest, writer: ResponseWriter) {
        guard let spooled = request.spooled else {
            return respond(writer, error: .invalidRequest("SBOM upload: the body was not taken as an upload"))
        }
        let slots = uploadSlots
        Task {
            await slots.acquire()
            let result = await self.storeSBOM(spooled)
            await slots.release()
            switch result {
            case .success(let (scanID, bytes, sha256)):
                writer.respond(.json(.ok, #"{"scan_id":\#(JSONText.quoted(scanID)),"bytes":\#(bytes),"sha256":"\#(sha256)"}"#))
            case .failure(let error):
                self.respond(writer, error: error)
            }
        }
    }

    /// Decodes, checks and stores one upload; the scan ID, gzipped size and hash, or why not.
    func storeSBOM(_ spooled: SpooledBody) async -> Result<(String, Int, String), IngestError> {
        let decodedPath = spooled.path + ".sbom.gz"
        defer { unlink(decodedPath) }
        let decoded: Result<DecodedUpload, IngestError>
        do {
            decoded = try await NIOThreadPool.singleton.runIfActive { Self.decodeUpload(spooled.path, to: decodedPath) }
        } catch {
            return .failure(.unavailable)
        }
        let upload: DecodedUpload
        switch decoded {
        case .success(let value): upload = value
        case .failure(let error): return .failure(error)
        }
        let store = operations.store(of: upload.nodeID)
        let uploadID = UUID()
        var parts = 0
        do {
            let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: decodedPath))
            defer { try? file.close() }
            while let data = try file.read(upToCount: PlacementStore.sbomPartBytes), !data.isEmpty {
                let now = Date(timeIntervalSince1970: Double(clock.now().milliseconds) / 1000)
                try await store.storeSBOMPart(uploadID: uploadID, part: parts, data: ByteBuffer(data: data), at: now)
                parts += 1
            }
        } catch {
            logger.warning("could not store an SBOM's parts", metadata: [LogKey.error: "\(redacted(error))"])
            return .failure(.unavailable)
        }
        var part = FindingsPart(route: .sbom, nodeID: upload.nodeID)
        part.sboms = [SBOMRecord(
            scanID: upload.scanID, uploadID: uploadID.uuidString, bytes: upload.bytes, inflatedBytes: upload.inflatedBytes,
            sha256: upload.sha256, parts: parts, fields: upload.fieldsJSON)]
        let committed: Result<Int, IngestError> = await withCheckedContinuation { continuation in
            submit(part) { continuation.resume(returning: $0) }
        }
        return committed.map { _ in (upload.scanID, upload.bytes, upload.sha256) }
    }

    /// An upload decoded to its gzipped SBOM, with what its row records.
    struct DecodedUpload: Sendable {
        var scanID: String
        var nodeID: String
        var bytes: Int
        var inflatedBytes: Int
        var sha256: String
        var fieldsJSON: String
    }

    /// Reads the upload at `path` 1 MiB at a time, writes the decoded SBOM to `output`, and
    /// checks it (blocking: run on a thread pool).
    static func decodeUpload(_ path: String, to output: String) -> Result<DecodedUpload, IngestError> {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return .failure(.spoolUnavailable) }
        defer { close(input) }
        let sink = open(output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard sink >= 0 else { return .failure(.spoolUnavailable) }
        defer { close(sink) }
        var reader = SBOMUploadReader()
        let check = GzipStreamCheck()
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do throws(IngestError) {
            while true {
                let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                guard count >= 0 else { throw IngestError.spoolUnavailable }
                if count == 0 { break }
                let fed = buffer.withUnsafeBytes { bytes in
                    Result { () throws(IngestError) in try reader.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) }
                }
                let decoded = try fed.get()
                guard !decoded.isEmpty else { continue }
                let stored = decoded.withUnsafeBytes { bytes -> Bool in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(sink, bytes.baseAddress! + offset, bytes.count - offset)
                        guard written > 0 else { return false }
                        offset += written
                    }
                    check.feed(bytes)
                    hasher.update(bufferPointer: bytes)
                    return true
                }
                guard stored else { throw IngestError.spoolUnavailable }
            }
            let fields = try reader.finish()
            guard fields.hasSBOM, fields.sbomBytes > 0 else { throw IngestError.invalidRequest("SBOM upload: sbom, the base64 of a gzipped SBOM, is required") }
            guard check.isComplete else {
                throw IngestError.invalidRequest("SBOM upload: sbom does not decode to one complete gzip stream")
            }
            guard let scanID = fields.strings["scan_id"], !scanID.isEmpty, scanID.utf8.count <= ScanID.maxBytes else {
                throw IngestError.invalidRequest("SBOM upload: scan_id, a non-empty string, is required")
            }
            guard let nodeID = ScanID.nodeID(of: scanID) ?? fields.strings["node_id"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw IngestError.invalidRequest("SBOM upload: scan_id is not of the form <node_id>-<digits> and the upload names no node_id")
            }
            let members = fields.strings.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\(JSONText.quoted($0.value))" }
                + fields.booleans.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\($0.value)" }
            let sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            return .success(DecodedUpload(
                scanID: scanID, nodeID: nodeID, bytes: fields.sbomBytes, inflatedBytes: check.inflatedBytes, sha256: sha256,
                fieldsJSON: "{" + members.joined(separator: ",") + "}"))
        } catch {
            return .failure(error)
        }
    }

    /// `GET /api/v1/scans/{id}/sbom`: the SBOM's row; `…/sbom/parts/{n}`: its part `n` (the
    /// gzipped SBOM is the parts in order, `parts` of them).
    func sbom(_ scanID: String, part: Int?, writer: ResponseWriter) {
        let stores = operations.stores(ofScan: scanID)
        respondAsync(writer) { () throws(IngestError) in
            for store in stores {
                if let part {
                    if let data = try await OperatorService.storage({ try await store.sbomPart(of: scanID, part: part) }) {
                        return HTTPResponse(status: .ok, headers: ["content-type": "application/octet-stream"], body: data)
                    }
                } else if let json = try await OperatorService.storage({ try await store.sbom(of: scanID) }) {
                    return .json(.ok, json)
                }
            }
            throw IngestError.noSuch(part == nil ? "SBOM for the scan" : "SBOM part")
        }
    }
}

/// At most `limit` uploads decoded and stored at once; the others wait their turn.
actor UploadSlots {
    let limit: Int
    var used = 0
    var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func acquire() async {
        if used < limit {
            used += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            used -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
