import IngestCore

/// The report bytes of an ingest request body, as the gateway (and a worker behind it) reads them.
public enum ReportBody {
    /// Gunzips the body when it is gzip (what sensors send, with `Content-Encoding: gzip`), or
    /// takes it as-is when it is plain JSON without an encoding; at most `limit` bytes after
    /// gunzip (`--max-report-bytes`: a decompression bomb stops there) and at most `maxRatio`
    /// times the body's size (`--max-compression-ratio`, 0: no ratio bound), so a small body
    /// cannot cost the CPU of inflating a large one.
    public static func decode(
        _ raw: UnsafeRawBufferPointer, contentEncoding: String?, limit: Int, maxRatio: Int
    ) throws(IngestError) -> [UInt8] {
        if Gzip.hasGzipMagic(raw) {
            let (byRatio, overflow) = raw.count.multipliedReportingOverflow(by: maxRatio)
            let ratioBinds = maxRatio > 0 && !overflow && byRatio < limit
            do throws(Gzip.Failure) {
                return try Gzip.decompress(raw, limit: ratioBinds ? byRatio : limit)
            } catch .tooLarge {
                if ratioBinds { throw .compressionRatio(limit: maxRatio, setting: "--max-compression-ratio") }
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
