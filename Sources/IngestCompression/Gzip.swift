internal import CLibDeflate
import Synchronization

/// gzip for request bodies and generated reports, on libdeflate (Debian's `libdeflate0`): whole
/// buffers in and out, about three times zlib's speed at inflating a report (docs/benchmarks.md).
public enum Gzip {
    /// Why a body could not be decompressed.
    public enum Failure: Error, Sendable, Hashable {
        /// The input is not a complete, valid gzip stream (its CRC-32 and length included).
        case malformed
        /// The output would be larger than the limit; decompression stopped there.
        case tooLarge
    }

    /// A libdeflate (de)compressor: one call at a time uses it (a pool hands it out).
    struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer

        /// libdeflate answers nil only when memory ran out.
        init(_ pointer: OpaquePointer?) {
            guard let pointer else { fatalError("libdeflate could not allocate its state: out of memory") }
            self.pointer = pointer
        }
    }

    /// Decompressors and compressors (by level) no call is using: allocating one costs more
    /// than inflating a small report, so they are kept. There are at most as many as calls
    /// that ran at once.
    static let decompressors = Mutex<[Handle]>([])
    static let compressors = Mutex<[Int32: [Handle]]>([:])

    /// Whether `bytes` start with the gzip magic number.
    public static func hasGzipMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Decompresses one gzip stream, never producing more than `limit` bytes: a decompression
    /// bomb stops at the limit, and memory grows at most to it. Bytes after the stream's end
    /// are not read.
    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        guard let inputBase = input.baseAddress, hasGzipMagic(input), input.count >= 18, limit >= 0 else { throw .malformed }
        // The trailer holds the size mod 2^32: a good first guess, never trusted beyond the
        // limit; a guess too small costs another pass with twice the room (and a size that
        // does not match what the stream inflates to is refused, as a wrong CRC is).
        let trailer = input.count - 4
        let size = Int(input[trailer]) | Int(input[trailer + 1]) << 8 | Int(input[trailer + 2]) << 16 | Int(input[trailer + 3]) << 24
        var capacity = min(max(size, 1024), limit)
        let decompressor = decompressors.withLock { $0.popLast() } ?? Handle(libdeflate_alloc_decompressor())
        defer { decompressors.withLock { $0.append(decompressor) } }
        while true {
            var result = LIBDEFLATE_SUCCESS
            // Not zero-filled first: libdeflate writes every byte it reports.
            let output = [UInt8](unsafeUninitializedCapacity: max(capacity, 1)) { buffer, count in
                var used = 0
                var produced = 0
                result = libdeflate_gzip_decompress_ex(decompressor.pointer, inputBase, input.count, buffer.baseAddress, capacity, &used, &produced)
                count = result == LIBDEFLATE_SUCCESS ? produced : 0
            }
            switch result {
            case LIBDEFLATE_SUCCESS:
                return output
            case LIBDEFLATE_INSUFFICIENT_SPACE:
                guard capacity < limit else { throw .tooLarge }
                capacity = capacity > limit / 2 ? limit : max(capacity * 2, 1024)
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

    /// Compresses `input` into one gzip stream at libdeflate's `level` (0 to 12; 1 is fastest,
    /// 6 about zlib's default ratio).
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> [UInt8] {
        let level = min(max(level, 0), 12)
        let compressor = compressors.withLock { $0[level]?.popLast() }
            ?? Handle(libdeflate_alloc_compressor(level))
        defer { compressors.withLock { $0[level, default: []].append(compressor) } }
        let bound = libdeflate_gzip_compress_bound(compressor.pointer, input.count)
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            count = libdeflate_gzip_compress(compressor.pointer, input.baseAddress, input.count, buffer.baseAddress, bound)
            precondition(count > 0, "libdeflate could not compress \(input.count) bytes into its own bound of \(bound)")
        }
        // The bound is the input's size and more; a result that is kept (the fleet keeps each
        // sensor's last report) should not hold it.
        return output.count < bound / 2 ? output.compacted() : output
    }

    /// Compresses an array of bytes into one gzip stream.
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        input.withUnsafeBytes { compress($0, level: level) }
    }
}

extension Array where Element == UInt8 {
    /// The same bytes in a buffer of exactly their size: for a result kept long after it was
    /// made in a larger one.
    public func compacted() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = withUnsafeBufferPointer { buffer.initialize(fromContentsOf: $0) }
        }
    }
}
