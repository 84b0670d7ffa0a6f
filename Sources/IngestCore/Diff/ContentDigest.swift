/// What a node's stored entities add up to: how many of each kind, and one order-independent
/// digest over every entity's key and content digest. The console computes it from the rows it
/// holds, the load-test fleet from the report it last had acknowledged; when they differ, entity
/// rows were lost (or written that were never sent) although the node's latest report ID matches.
public struct ContentDigest: Sendable, Hashable, CustomStringConvertible {
    public private(set) var counts: [EntityKind: Int] = [:]
    public private(set) var digest: UInt64 = 0

    /// The digest of a node's stored entities.
    public init(_ snapshot: NodeSnapshot) {
        snapshot.forEach { key, kind, digest in add(key: key, kind: kind, digest: digest) }
    }

    /// The digest of the entities the console stores for this report on a node with no earlier
    /// state (duplicates counted once, as the diff does).
    public init(report: ParsedReport) {
        self.init(ReportDiff(previous: nil, report: report).next)
    }

    mutating func add(key: UInt64, kind: EntityKind, digest entityDigest: UInt64) {
        counts[kind, default: 0] += 1
        // Connections are stored by key alone (their rows carry no content digest).
        let content = kind == .connection ? 0 : entityDigest
        // A wrapping sum of mixed values: the same set gives the same digest in any order.
        digest &+= Self.mix(key ^ (content &* 0x9E37_79B9_7F4A_7C15))
    }

    /// SplitMix64's finalizer: spreads each entity's bits over the whole word.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The canonical text, e.g. `host=1 process=57 container=3 digest=0f3a…`: kinds in their
    /// fixed order, those without entities left out.
    public var description: String {
        let kinds = EntityKind.allCases.compactMap { kind in counts[kind].map { "\(kind.name)=\($0)" } }
        let hex = String(digest, radix: 16)
        return (kinds + ["digest=" + String(repeating: "0", count: 16 - hex.count) + hex]).joined(separator: " ")
    }
}
