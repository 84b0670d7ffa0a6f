/// A half-open range of byte offsets into a report's buffer.
public struct ByteSpan: Sendable, Hashable {
    public var start: Int32
    public var end: Int32

    @inlinable public init(start: Int, end: Int) {
        self.start = Int32(truncatingIfNeeded: start)
        self.end = Int32(truncatingIfNeeded: end)
    }

    public static let empty = ByteSpan(start: 0, end: 0)
    @inlinable public var count: Int { Int(end - start) }
    @inlinable public var isEmpty: Bool { end <= start }
}

/// The volatile metrics of an entity, as spans of their raw JSON number text. They are not part
/// of the entity's digest: the console samples them on an interval instead of rewriting the
/// entity every beat.
public struct MetricSpans: Sendable, Hashable {
    public var cpuUsage: ByteSpan = .empty
    public var memoryUsage: ByteSpan = .empty
    public var uptime: ByteSpan = .empty
    public var openFiles: ByteSpan = .empty

    public init() {}

    /// Whether any metric is present.
    public var isEmpty: Bool { cpuUsage.isEmpty && memoryUsage.isEmpty && uptime.isEmpty && openFiles.isEmpty }
}

/// One entity of a report: where its ID and JSON body are in the buffer, the hash of its ID
/// (the key it is stored and diffed under) and the digest of its stable content.
public struct ParsedEntity: Sendable {
    /// The entity's kind.
    public var kind: EntityKind
    /// Whether ``id`` (or ``peer``) contains JSON escapes and must be decoded.
    public var escaped: Bool
    /// The ID's span, without quotes. For connections: the source endpoint's ID.
    public var id: ByteSpan
    /// For connections: the destination endpoint's ID. Empty otherwise.
    public var peer: ByteSpan
    /// The raw JSON object of the entity (empty for connections).
    public var body: ByteSpan
    /// `XXH64(decoded ID, seed: kind)`; for connections, of the destination seeded by the
    /// source's key. The key under which the entity is stored and diffed.
    public var key: UInt64
    /// XXH64 over the body with the volatile members (timestamp and metrics) and ``detached``
    /// left out, each with the comma that joined it, the rest hashed as one text: an entity hashes
    /// the same whether a volatile member is there or not.
    public var digest: UInt64
    /// The spans of the volatile metrics.
    public var metrics: MetricSpans
    /// A member of the body stored apart, with the comma that joined it to its neighbour: an
    /// endpoint's `adjacency`, which is stored as connection rows (and logged as their changes),
    /// so that a connection that comes or goes does not also rewrite its endpoint. Empty for
    /// other kinds and for endpoints without one.
    public var detached: ByteSpan = .empty
}

/// A report parsed by ``ReportParser``: its buffer and where everything the console stores lies in it.
public struct ParsedReport: Sendable {
    /// The decompressed report JSON.
    public let bytes: [UInt8]
    /// The node that sent the report.
    public let nodeID: String
    /// Whether the node is a host or a Kubernetes cluster.
    public let nodeKind: NodeKind
    /// The report's `ID`, if present (used to acknowledge resends without a second write).
    public let reportID: String?
    /// The report's `TS`, if present.
    public let timestamp: String?
    /// Every entity in the report, in document order.
    public let entities: [ParsedEntity]
    /// The shortest beat the gateway that took the report wants its sensor told, seconds: the
    /// cluster's beat while raised (``ClusterBeat``; 0: none). The owner answers the longer of
    /// this and its own, and expects the node's next report by it.
    public var beatFloor = 0

    /// The decoded text of a span (JSON escapes resolved when `escaped`).
    public func string(_ span: ByteSpan, escaped: Bool) -> String {
        bytes.withUnsafeBufferPointer { buffer in
            let slice = UnsafeBufferPointer(rebasing: buffer[Int(span.start)..<Int(span.end)])
            if escaped { return String(decoding: JSONText.unescape(slice), as: UTF8.self) }
            return String(decoding: slice, as: UTF8.self)
        }
    }

    /// The raw text of a span, as it is in the report.
    public func rawString(_ span: ByteSpan) -> String {
        bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[Int(span.start)..<Int(span.end)]), as: UTF8.self)
        }
    }

    /// The entity's body as the console stores it: the raw JSON without ``ParsedEntity/detached``.
    public func storedBody(of entity: ParsedEntity) -> String {
        guard !entity.detached.isEmpty else { return rawString(entity.body) }
        return bytes.withUnsafeBufferPointer { buffer in
            var text = [UInt8]()
            text.reserveCapacity(entity.body.count - entity.detached.count)
            text.append(contentsOf: buffer[Int(entity.body.start)..<Int(entity.detached.start)])
            text.append(contentsOf: buffer[Int(entity.detached.end)..<Int(entity.body.end)])
            return String(decoding: text, as: UTF8.self)
        }
    }

    /// The entity's ID as text.
    public func id(of entity: ParsedEntity) -> String { string(entity.id, escaped: entity.escaped) }

    /// The number of entities of each kind.
    public func counts() -> [EntityKind: Int] {
        var counts: [EntityKind: Int] = [:]
        for entity in entities { counts[entity.kind, default: 0] += 1 }
        return counts
    }
}
