/// What changed between a node's previous snapshot and its new report.
public struct ReportDiff: Sendable {
    /// An entity that was in the previous snapshot and is not in the report.
    public struct Vanished: Sendable, Hashable {
        public var kind: EntityKind
        public var key: UInt64
    }

    /// Indices into the report's entities that are new.
    public var appeared: [Int32] = []
    /// Indices into the report's entities whose digest changed.
    public var changed: [Int32] = []
    /// Indices into the report's entities whose stored digest is the one a build before
    /// 69883a1 computed for the same content (``ReportParser/previousDigest(of:in:)``): the
    /// row is rewritten with the new digest, and nothing is logged, for nothing changed.
    public var rehashed: [Int32] = []
    /// Entities of the previous snapshot missing from the report.
    public var vanished: [Vanished] = []
    /// How many entities are unchanged.
    public var unchanged = 0
    /// The snapshot after this report: what the next report is diffed against once this one commits.
    public var next: NodeSnapshot

    /// Whether nothing changed.
    public var isEmpty: Bool { appeared.isEmpty && changed.isEmpty && rehashed.isEmpty && vanished.isEmpty }

    /// Diffs `report` against `previous` (`nil` when the node has no stored state: all appeared).
    ///
    /// An entity ID that occurs twice in one report counts once: the later occurrence wins, as it
    /// would in a JSON object decoder.
    public init(previous: NodeSnapshot?, report: ParsedReport) {
        let entities = report.entities
        var next = NodeSnapshot(capacity: entities.count)
        for entity in entities {
            next.insert(key: entity.key, kind: entity.kind, digest: entity.digest)
        }
        // The entity that landed in each slot (the last one with that key).
        var winner = [Int32](repeating: -1, count: next.keys.count)
        for (index, entity) in entities.enumerated() {
            winner[next.slot(of: entity.key)] = Int32(index)
        }
        for slot in winner.indices where winner[slot] >= 0 {
            let index = winner[slot]
            let entity = entities[Int(index)]
            if let old = previous?.lookup(entity.key) {
                if old.digest == entity.digest && old.kind == entity.kind {
                    unchanged += 1
                } else if old.kind == entity.kind, ReportParser.previousDigest(of: entity, in: report.bytes) == old.digest {
                    rehashed.append(index)
                } else {
                    changed.append(index)
                }
            } else {
                appeared.append(index)
            }
        }
        var vanished: [Vanished] = []
        previous?.forEach { key, kind, _ in
            if next.lookup(key) == nil { vanished.append(Vanished(kind: kind, key: key)) }
        }
        self.vanished = vanished
        appeared.sort()
        changed.sort()
        rehashed.sort()
        self.next = next
    }
}
