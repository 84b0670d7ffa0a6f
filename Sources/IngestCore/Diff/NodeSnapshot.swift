/// The digests of the entities one node reported last, keyed by entity key (``ParsedEntity/key``).
///
/// This is what a worker keeps in memory per node to decide what changed. It is an open-addressing
/// table over the already-uniform 64-bit keys (linear probing, power-of-two capacity, key 0
/// marking an empty slot), about 17 bytes per entity at most 3/4 full: 10,000 nodes of 200
/// entities fit in well under 100 MB.
public struct NodeSnapshot: Sendable {
    @usableFromInline var keys: [UInt64]
    @usableFromInline var digests: [UInt64]
    @usableFromInline var kinds: [UInt8]
    /// How many entities the snapshot holds.
    public private(set) var count: Int

    /// An empty snapshot with room for `capacity` entities before it grows.
    public init(capacity: Int = 0) {
        var slots = 8
        while slots * 3 < capacity * 4 { slots <<= 1 }
        keys = Array(repeating: 0, count: slots)
        digests = Array(repeating: 0, count: slots)
        kinds = Array(repeating: 0, count: slots)
        count = 0
    }

    /// A snapshot of the given entries (later entries with the same key replace earlier ones).
    public init<S: Sequence>(entries: S) where S.Element == (key: UInt64, kind: EntityKind, digest: UInt64) {
        self.init(capacity: entries.underestimatedCount)
        for entry in entries { insert(key: entry.key, kind: entry.kind, digest: entry.digest) }
    }

    @inline(__always) var mask: Int { keys.count - 1 }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    func slot(of key: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: key) & mask
        while true {
            let found = keys[slot]
            if found == key || found == 0 { return slot }
            slot = (slot + 1) & mask
        }
    }

    /// The digest and kind stored under `key`.
    public func lookup(_ key: UInt64) -> (kind: EntityKind, digest: UInt64)? {
        let slot = slot(of: key)
        guard keys[slot] == key, key != 0 else { return nil }
        return (EntityKind(rawValue: kinds[slot]) ?? .host, digests[slot])
    }

    /// Stores an entity; returns its slot. Key 0 is reserved and must not be used.
    @discardableResult
    public mutating func insert(key: UInt64, kind: EntityKind, digest: UInt64) -> Int {
        precondition(key != 0, "key 0 marks an empty slot")
        if (count + 1) * 4 > keys.count * 3 { grow() }
        let slot = slot(of: key)
        if keys[slot] == 0 {
            keys[slot] = key
            count += 1
        }
        digests[slot] = digest
        kinds[slot] = kind.rawValue
        return slot
    }

    mutating func grow() {
        let old = (keys, digests, kinds)
        let slots = keys.count * 2
        keys = Array(repeating: 0, count: slots)
        digests = Array(repeating: 0, count: slots)
        kinds = Array(repeating: 0, count: slots)
        count = 0
        for index in old.0.indices where old.0[index] != 0 {
            let slot = slot(of: old.0[index])
            keys[slot] = old.0[index]
            digests[slot] = old.1[index]
            kinds[slot] = old.2[index]
            count += 1
        }
    }

    /// Calls `body` with every entry.
    public func forEach(_ body: (_ key: UInt64, _ kind: EntityKind, _ digest: UInt64) throws -> Void) rethrows {
        for index in keys.indices where keys[index] != 0 {
            try body(keys[index], EntityKind(rawValue: kinds[index]) ?? .host, digests[index])
        }
    }

    /// The number of entities of each kind.
    public func counts() -> [EntityKind: Int] {
        var counts: [EntityKind: Int] = [:]
        forEach { _, kind, _ in counts[kind, default: 0] += 1 }
        return counts
    }

    /// Approximate bytes of memory the table uses.
    public var memoryFootprint: Int { keys.count * 17 + 96 }
}
