/// XXH64, the 64-bit xxHash of Yann Collet (specification: `doc/xxhash_spec.md` in the
/// Cyan4973/xxHash repository), over raw bytes.
///
/// The console uses it in two places where the result must be identical in every language the
/// sensors and tools use: the node → shard mapping (``ShardFunction``) and the entity digests
/// that decide what changed between two reports. Any standard xxHash library gives the same
/// values (for example Python's `xxhash.xxh64_intdigest(data, seed)`).
public enum XXH64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The hash of `count` bytes at `start`.
    @inlinable
    public static func hash(_ start: UnsafeRawPointer, count: Int, seed: UInt64 = 0) -> UInt64 {
        hashBytes(start, count, seed)
    }

    /// The hash of a buffer of bytes.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        guard let base = bytes.baseAddress else {
            return withUnsafeBytes(of: 0 as UInt64) { hashBytes($0.baseAddress!, 0, seed) }
        }
        return hashBytes(base, bytes.count, seed)
    }

    /// The hash of the UTF-8 bytes of a string.
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var copy = string
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// The hash of an array of bytes.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    @inline(__always) @usableFromInline
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        var acc = acc &+ input &* prime2
        acc = (acc << 31) | (acc >> 33)
        return acc &* prime1
    }

    @inline(__always) @usableFromInline
    static func mergeRound(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        let acc = acc ^ round(0, value)
        return acc &* prime1 &+ prime4
    }

    @inline(__always) @usableFromInline
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 &- r)) }

    /// The four accumulators of the stripe loop.
    struct Lanes {
        var v1, v2, v3, v4: UInt64

        init(seed: UInt64) {
            v1 = seed &+ XXH64.prime1 &+ XXH64.prime2
            v2 = seed &+ XXH64.prime2
            v3 = seed
            v4 = seed &- XXH64.prime1
        }

        /// Folds in the whole 32-byte stripes of `count` bytes at `p`; returns the bytes taken.
        @inline(__always)
        mutating func consume(_ p: UnsafeRawPointer, _ count: Int) -> Int {
            var offset = 0
            while offset + 32 <= count {
                v1 = XXH64.round(v1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                v2 = XXH64.round(v2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
                v3 = XXH64.round(v3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)))
                v4 = XXH64.round(v4, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)))
                offset += 32
            }
            return offset
        }

        var merged: UInt64 {
            var h = XXH64.rotl(v1, 1) &+ XXH64.rotl(v2, 7) &+ XXH64.rotl(v3, 12) &+ XXH64.rotl(v4, 18)
            h = XXH64.mergeRound(h, v1)
            h = XXH64.mergeRound(h, v2)
            h = XXH64.mergeRound(h, v3)
            return XXH64.mergeRound(h, v4)
        }
    }

    @usableFromInline
    static func hashBytes(_ p: UnsafeRawPointer, _ count: Int, _ seed: UInt64) -> UInt64 {
        var offset = 0
        var h: UInt64
        if count >= 32 {
            var lanes = Lanes(seed: seed)
            offset = lanes.consume(p, count)
            h = lanes.merged
        } else {
            h = seed &+ prime5
        }
        h = h &+ UInt64(truncatingIfNeeded: count)
        return finish(h, p + offset, count - offset)
    }

    /// XXH64 of bytes fed in pieces: the same value as ``hash(_:count:seed:)`` of the pieces
    /// joined, without joining them (the entity digest feeds the text between the members it
    /// leaves out).
    public struct Stream {
        var lanes: Lanes
        let seed: UInt64
        /// Bytes fed so far.
        var total = 0
        /// The start of a stripe not complete yet.
        var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var pendingCount = 0

        public init(seed: UInt64 = 0) {
            self.seed = seed
            lanes = Lanes(seed: seed)
        }

        /// Feeds `count` bytes at `start`.
        public mutating func update(_ start: UnsafeRawPointer, count: Int) {
            guard count > 0 else { return }
            total += count
            var p = start
            var left = count
            var pending = self.pending
            var lanes = self.lanes
            let pendingCount = self.pendingCount
            if pendingCount > 0 {
                let fill = min(32 - pendingCount, left)
                withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: pendingCount).copyMemory(from: p, byteCount: fill) }
                p += fill
                left -= fill
                guard pendingCount + fill == 32 else {
                    self.pending = pending
                    self.pendingCount = pendingCount + fill
                    return
                }
                _ = withUnsafeBytes(of: &pending) { lanes.consume($0.baseAddress!, 32) }
            }
            let taken = lanes.consume(p, left)
            p += taken
            left -= taken
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: p, byteCount: left) }
            self.pending = pending
            self.pendingCount = left
            self.lanes = lanes
        }

        /// The hash of everything fed.
        public func finish() -> UInt64 {
            var h = total >= 32 ? lanes.merged : seed &+ XXH64.prime5
            h = h &+ UInt64(truncatingIfNeeded: total)
            var pending = self.pending
            let count = pendingCount
            return withUnsafeBytes(of: &pending) { XXH64.finish(h, $0.baseAddress!, count) }
        }
    }

    /// The last step of a hash: folds in the `count` (< 32) bytes left at `p`, then avalanches.
    static func finish(_ hash: UInt64, _ p: UnsafeRawPointer, _ count: Int) -> UInt64 {
        var h = hash
        var offset = 0
        while offset + 8 <= count {
            let k = round(0, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            h ^= k
            h = rotl(h, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= count {
            let k = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            h ^= k &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            h ^= UInt64(p.load(fromByteOffset: offset, as: UInt8.self)) &* prime5
            h = rotl(h, 11) &* prime1
            offset += 1
        }
        h ^= h >> 33
        h = h &* prime2
        h ^= h >> 29
        h = h &* prime3
        h ^= h >> 32
        return h
    }
}
