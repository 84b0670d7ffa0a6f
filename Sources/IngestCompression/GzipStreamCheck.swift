internal import CZlib

/// Checks a gzip stream fed in pieces without keeping what it inflates to: whether it is one
/// complete, valid gzip stream (CRC and length included), and how large it inflates. Memory is
/// zlib's window and one 64 KiB scratch buffer, whatever the stream's size.
public final class GzipStreamCheck {
    private var stream = z_stream()
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)
    private var ended = false
    private var failed = false
    private var started = false
    /// Bytes the stream inflated to so far.
    public private(set) var inflatedBytes = 0

    public init() {}

    deinit {
        if started { inflateEnd(&stream) }
    }

    /// Feeds the next piece; false once the stream is malformed (or has data after its end).
    @discardableResult
    public func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        if ended {
            failed = true
            return false
        }
        if !started {
            // 15 window bits + 16: gzip only.
            guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                failed = true
                return false
            }
            started = true
        }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        while stream.avail_in > 0 && !ended {
            let produced = scratch.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                inflatedBytes += out.count - Int(stream.avail_out)
                return status
            }
            switch produced {
            case Z_STREAM_END: ended = true
            case Z_OK, Z_BUF_ERROR: continue
            default:
                failed = true
                return false
            }
        }
        if ended && stream.avail_in > 0 {
            failed = true
            return false
        }
        return true
    }

    /// Whether everything fed was one complete, valid gzip stream.
    public var isComplete: Bool { ended && !failed }
}
