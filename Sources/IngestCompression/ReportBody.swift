import IngestCore

/// The report bytes of an ingest request body, as the gateway (and a worker behind it) reads them.
public enum ReportBody {
    /// Gunzips the body when it is gzip (what sensors send, with `Content-Encoding: gzip`), or
    /// takes it as-is when it is plain JSON without an encoding; at most `limit` bytes after
    /// gunzip (`--max-report-bytes`: a decompression bomb stops there).
    public static func decode(_ raw: UnsafeRawBufferPointer, contentEncoding: String?, limit: Int) throws(IngestError) -> [UInt8] {
        if Gzip.hasGzipMagic(raw) {
            do throws(Gzip.Failure) {
                return try Gzip.decompress(raw, limit: limit)
            } catch .tooLarge {
                throw .reportTooLarge(limit: limit, setting: "--max-report-bytes")
            } catch {
                throw .malformedGzip
            }
        }
        switch contentEncoding?.lowercased() {
        case nil, "identity":
            guard raw.count > 0 else { throw .invalidRequest("the report body is empty") }
            return Array(raw)
        case "gzip", "x-gzip":
            throw .malformedGzip
        case let other?:
            throw .unsupportedEncoding(other)
        }
    }
}
