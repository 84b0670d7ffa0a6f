internal import CZlib

/// gzip for request bodies and generated reports, on the system's zlib.
public enum Gzip {
    /// Why a body could not be decompressed.
    public enum Failure: Error, Sendable, Hashable {
        /// The input is not a complete, valid gzip (or zlib) stream.
        case malformed
        /// The output would be larger than the limit; decompression stopped there.
        case tooLarge
    }

    /// Whether `bytes` start with the gzip magic number.
    public static func hasGzipMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Decompresses one gzip (or zlib) stream, never producing more than `limit` bytes: a
    /// decompression bomb stops at the limit, and memory grows at most to it.
    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        guard let inputBase = input.baseAddress, input.count > 0 else { throw .malformed }
        var stream = z_stream()
        stream.next_in = UnsafeMutablePointer(mutating: inputBase.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(clamping: input.count)
        // 15 window bits + 32: detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .malformed
        }
        defer { inflateEnd(&stream) }
        // gzip's trailer holds the size mod 2^32: a good first guess, never trusted beyond the limit.
        var capacity = 64 * 1024
        if hasGzipMagic(input), input.count >= 18 {
            let trailer = input.count - 4
            let size = Int(input[trailer]) | Int(input[trailer + 1]) << 8 | Int(input[trailer + 2]) << 16
                | Int(input[trailer + 3]) << 24
            capacity = max(size + 1, 1024)
        }
        capacity = min(capacity, limit + 1)
        var output = [UInt8]()
        var produced = 0
        while true {
            if output.count < capacity { output.append(contentsOf: repeatElement(0, count: capacity - output.count)) }
            let status: Int32 = output.withUnsafeMutableBytes { buffer in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                stream.avail_out = uInt(clamping: buffer.count - produced)
                let status = inflate(&stream, Z_NO_FLUSH)
                produced = buffer.count - Int(stream.avail_out)
                return status
            }
            if produced > limit { throw .tooLarge }
            switch status {
            case Z_STREAM_END:
                output.removeSubrange(produced...)
                return output
            case Z_OK:
                if stream.avail_out == 0 {
                    guard capacity <= limit else { throw .tooLarge }
                    capacity = min(capacity * 2, limit + 1)
                } else if stream.avail_in == 0 {
                    throw .malformed  // input ended before the stream did
                }
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw .malformed
            case Z_BUF_ERROR:
                guard capacity <= limit else { throw .tooLarge }
                capacity = min(capacity * 2, limit + 1)
            default:
                throw .malformed
            }
        }
    }

    /// Decompresses an array of bytes.
    public static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        let result: Result<[UInt8], Failure> = input.withUnsafeBytes { raw in
            do throws(Failure) { return .success(try decompress(raw, limit: limit)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Compresses `input` into one gzip stream.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // 15 window bits + 16: write a gzip header and trailer.
        let initialized = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                                        Int32(MemoryLayout<z_stream>.size))
        precondition(initialized == Z_OK, "zlib deflateInit2 failed: \(initialized)")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 32
        return [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = buffer.baseAddress
            stream.avail_out = uInt(bound)
            let status = deflate(&stream, Z_FINISH)
            precondition(status == Z_STREAM_END, "zlib deflate did not finish: \(status)")
            count = bound - Int(stream.avail_out)
        }
    }

    /// Compresses an array of bytes into one gzip stream.
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        input.withUnsafeBytes { compress($0, level: level) }
    }
}
