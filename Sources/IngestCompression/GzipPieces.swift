internal import CZlib

/// A gzip body assembled from pieces compressed on their own, so a generator that sends
/// nearly the same text again and again compresses only the pieces that changed.
///
/// Each piece is a run of non-final deflate blocks compressed by a fresh stream, ending on a byte
/// boundary (a sync flush). It refers to nothing before it, or, when compressed against a
/// dictionary, only to the dictionary's text, which must then be exactly the text laid just
/// before the piece (a decompressor's window holds what it produced last). Runs laid end to end
/// are one stream once a final empty block closes it; the gzip trailer's CRC-32 is combined from
/// the pieces' own (`crc32_combine`) instead of read again over the text. Any gzip reader
/// decompresses the result to the pieces' texts in order.
public enum GzipPieces {
    /// One piece of text, compressed.
    public struct Piece: Sendable {
        /// Non-final deflate blocks, byte-aligned, referring to nothing outside the piece.
        public let deflated: [UInt8]
        /// The CRC-32 of the piece's text.
        public let crc: UInt32
        /// The length of the piece's text.
        public let length: Int
    }

    /// A reusable deflate stream (making one costs more than compressing a small piece). One
    /// task at a time may use it (a pool hands it out); it is Sendable only to move between them.
    public final class Compressor: @unchecked Sendable {
        var stream = z_stream()

        /// A compressor at zlib `level` (1: fastest).
        public init(level: Int32 = 1) {
            // -15 window bits: raw deflate, no zlib or gzip framing of its own.
            let initialized = deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                                            Int32(MemoryLayout<z_stream>.size))
            precondition(initialized == Z_OK, "zlib deflateInit2 failed: \(initialized)")
        }

        deinit { deflateEnd(&stream) }

        /// Compresses `text` as one piece; with a `dictionary`, the piece may refer to its last
        /// 32 KiB, and must then follow that text in the stream.
        public func piece(_ text: [UInt8], dictionary: [UInt8]? = nil) -> Piece {
            text.withUnsafeBytes { raw in
                deflateReset(&stream)
                if let dictionary, !dictionary.isEmpty {
                    let window = dictionary.suffix(32 * 1024)
                    let status = window.withUnsafeBytes { bytes in
                        deflateSetDictionary(&stream, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
                    }
                    precondition(status == Z_OK, "zlib deflateSetDictionary failed: \(status)")
                }
                // A sync flush ends the piece on a byte boundary with an empty stored block.
                let bound = Int(deflateBound(&stream, uLong(raw.count))) + 16
                let deflated = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
                    stream.next_in = UnsafeMutablePointer(mutating: raw.baseAddress?.assumingMemoryBound(to: Bytef.self))
                    stream.avail_in = uInt(raw.count)
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(bound)
                    let status = deflate(&stream, Z_SYNC_FLUSH)
                    precondition(status == Z_OK && stream.avail_in == 0, "zlib deflate did not take the piece: \(status)")
                    count = bound - Int(stream.avail_out)
                }
                let crc = UInt32(crc32(0, raw.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(raw.count)))
                return Piece(deflated: deflated, crc: crc, length: raw.count)
            }
        }
    }

    /// The gzip stream of the pieces' texts, in order.
    public static func assemble(_ pieces: [Piece]) -> [UInt8] {
        var size = 10 + 2 + 8
        for piece in pieces { size += piece.deflated.count }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        // Header: magic, deflate, no flags, no time, no extra flags, unknown OS.
        out.append(contentsOf: [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255])
        var crc: uLong = 0
        var length = 0
        for piece in pieces {
            out.append(contentsOf: piece.deflated)
            crc = crc32_combine(crc, uLong(piece.crc), off_t(piece.length))
            length += piece.length
        }
        // A final, empty block with fixed codes: BFINAL 1, BTYPE 01, end-of-block 0000000.
        out.append(contentsOf: [0x03, 0x00])
        for value in [UInt32(truncatingIfNeeded: crc), UInt32(truncatingIfNeeded: length)] {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }
}
