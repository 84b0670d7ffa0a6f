import Testing
@testable import IngestCore

/// Reference values from Python's `xxhash.xxh64_intdigest(data, seed)`.
struct XXH64Tests {
    static let vectors: [(bytes: [UInt8], seed: UInt64, hash: UInt64)] = [
        ([], 0, 0xef46_db37_51d8_e999),
        (Array("a".utf8), 0, 0xd24e_c4f1_a98c_6e5b),
        (Array("abc".utf8), 0, 0x44bc_2cf5_ad77_0999),
        (Array("agent-sed-string".utf8), 0, 0xd77e_0bca_4ef5_8890),
        (Array(repeating: UInt8(ascii: "x"), count: 100), 0, 0x92f0_de5a_88a3_c094),
        (Array((0..<768).map { UInt8($0 % 256) }), 0, 0x8e03_c838_c596_036f),
        ([], 0x5EED_0000_0000_0001, 0xcfa0_4bfe_3e81_efa6),
        (Array("abc".utf8), 0x5EED_0000_0000_0001, 0xc1ba_5cef_9030_4b76),
        (Array((0..<768).map { UInt8($0 % 256) }), 0x5EED_0000_0000_0001, 0x7301_ae93_9ac4_3341),
    ]

    @Test(arguments: 0..<vectors.count)
    func matchesReference(_ index: Int) {
        let vector = Self.vectors[index]
        #expect(XXH64.hash(vector.bytes, seed: vector.seed) == vector.hash)
    }

    /// Fed in pieces, the stream gives the hash of the pieces joined: every length around the
    /// 32-byte stripe and every way of cutting it in three.
    @Test func aStreamFedInPiecesHashesTheWhole() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        for count in [0, 1, 7, 31, 32, 33, 63, 64, 65, 100, 200] {
            let whole = Array(bytes.prefix(count))
            let expected = XXH64.hash(whole, seed: 0x5EED)
            for first in stride(from: 0, through: count, by: 3) {
                for second in stride(from: first, through: count, by: 5) {
                    var stream = XXH64.Stream(seed: 0x5EED)
                    whole.withUnsafeBytes { raw in
                        stream.update(raw.baseAddress!, count: first)
                        stream.update(raw.baseAddress! + first, count: second - first)
                        stream.update(raw.baseAddress! + second, count: count - second)
                    }
                    #expect(stream.finish() == expected, "\(count) bytes cut at \(first) and \(second)")
                }
            }
        }
        // A reference value, fed a byte at a time.
        var stream = XXH64.Stream()
        for byte in (0..<768).map({ UInt8($0 % 256) }) { withUnsafeBytes(of: byte) { stream.update($0.baseAddress!, count: 1) } }
        #expect(stream.finish() == 0x8e03_c838_c596_036f)
    }

    @Test func stringAndBytesAgree() {
        #expect(XXH64.hash("agent-sed-string") == XXH64.hash(Array("agent-sed-string".utf8)))
    }

    @Test func shardOfKnownNode() {
        // xxhash.xxh64_intdigest(b"agent-sed-string") % 4096 == 2192
        #expect(ShardFunction().shard(of: "agent-sed-string") == 2192)
        #expect(ShardFunction(shardCount: 1).shard(of: "anything") == 0)
    }

    @Test func shardsSpreadEvenly() {
        let function = ShardFunction(shardCount: 64)
        var counts = [Int](repeating: 0, count: 64)
        for index in 0..<64_000 { counts[function.shard(of: "host-\(index)")] += 1 }
        // 1,000 expected per shard; a uniform hash stays well within ±20 %.
        #expect(counts.min()! > 800)
        #expect(counts.max()! < 1200)
    }
}
