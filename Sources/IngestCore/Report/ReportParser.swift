/// A purpose-built parser for ThreatMapper topology reports.
///
/// ## Overview
/// A report is one JSON object whose members are topologies (`Host`, `Process`, `Container`, …),
/// each a map from entity ID to `{"metadata": {…}, "parents": {…}, "sets": {…},
/// "adjacency": […]}`, plus `ID` and `TS`. The console stores each entity's JSON body as it is,
/// so the parser does not build values: it validates the whole document in one pass and records
/// where each entity's ID and body lie, the hash of the ID, and a digest of the body that leaves
/// out the members that change every beat (`timestamp` and the volatile metrics), whose value
/// spans it records instead.
///
/// ## Implementation
/// One forward pass with ``JSONScanner``; a second pass over each entity body computes its
/// digest with ``XXH64``, skipping the volatile members. Topologies the console does not store
/// (`Overlay`, `DNS`, …) are validated and skipped.
public struct ReportParser: Sendable {
    /// Bounds on what a report may contain.
    public struct Limits: Sendable, Hashable {
        /// The most entities (connections included) one report may carry (`--max-report-entities`).
        public var maxEntities: Int
        /// The deepest nesting of objects and arrays accepted (`--max-json-depth`).
        public var maxDepth: Int
        /// The longest JSON string, member names included, in bytes as sent (`--max-json-string-bytes`).
        public var maxStringBytes: Int

        public init(maxEntities: Int = 250_000, maxDepth: Int = 64, maxStringBytes: Int = 1 << 20) {
            self.maxEntities = maxEntities
            self.maxDepth = maxDepth
            self.maxStringBytes = maxStringBytes
        }
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Parses a decompressed report.
    public func parse(_ bytes: [UInt8]) throws(IngestError) -> ParsedReport {
        var state = ParseState()
        let result: Result<Void, IngestError> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(
                buffer, maxDepth: limits.maxDepth, maxStringBytes: limits.maxStringBytes,
                settings: ("--max-json-depth", "--max-json-string-bytes"))
            do throws(IngestError) {
                try parseReport(&scanner, into: &state)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        return try state.finish(bytes)
    }

    struct ParseState {
        var entities: [ParsedEntity] = []
        var reportID: (span: ByteSpan, escaped: Bool, isString: Bool)?
        var timestamp: (span: ByteSpan, escaped: Bool)?
        var hostIndex: Int?
        var clusterIndex: Int?
        var hostCount = 0
        var clusterCount = 0

        init() { entities.reserveCapacity(256) }

        func finish(_ bytes: [UInt8]) throws(IngestError) -> ParsedReport {
            let node: ParsedEntity
            let nodeKind: NodeKind
            if hostCount == 1, let index = hostIndex {
                node = entities[index]
                nodeKind = .host
            } else if hostCount == 0, clusterCount == 1, let index = clusterIndex {
                node = entities[index]
                nodeKind = .kubernetesCluster
            } else {
                throw IngestError.invalidRequest(
                    "the report names no single node: a host sensor's report has exactly one key in 'Host', "
                        + "a cluster sensor's exactly one in 'KubernetesCluster' (found \(hostCount) and \(clusterCount))")
            }
            let draft = ParsedReport(
                bytes: bytes, nodeID: "", nodeKind: nodeKind, reportID: nil, timestamp: nil, entities: [])
            let nodeID = draft.string(node.id, escaped: node.escaped)
            guard !nodeID.isEmpty else { throw IngestError.invalidRequest("the report's node ID is empty") }
            return ParsedReport(
                bytes: bytes,
                nodeID: nodeID,
                nodeKind: nodeKind,
                reportID: reportID.map { $0.isString ? draft.string($0.span, escaped: $0.escaped) : draft.rawString($0.span) },
                timestamp: timestamp.map { draft.string($0.span, escaped: $0.escaped) },
                entities: entities)
        }
    }

    // MARK: Report

    func parseReport(_ s: inout JSONScanner, into state: inout ParseState) throws(IngestError) {
        guard try s.peek() == UInt8(ascii: "{") else { throw s.failure("a report must be a JSON object") }
        s.index += 1
        if try s.peek() == UInt8(ascii: "}") {
            s.index += 1
        } else {
            while true {
                guard try s.peek() == JSONScanner.quote else { throw s.failure("expected a member name") }
                let (name, _) = try s.scanString()
                try s.expect(UInt8(ascii: ":"), "':'")
                if let kind = topology(named: name, in: s) {
                    try parseTopology(&s, kind: kind, into: &state)
                } else if s.span(name, is: "ID") {
                    let first = try s.peek()
                    let start = s.index
                    if first == JSONScanner.quote {
                        let (span, escaped) = try s.scanString()
                        state.reportID = (span, escaped, true)
                    } else {
                        try s.skipValue(depth: 1)
                        state.reportID = (ByteSpan(start: start, end: s.index), false, false)
                    }
                } else if s.span(name, is: "TS"), try s.peek() == JSONScanner.quote {
                    let (span, escaped) = try s.scanString()
                    state.timestamp = (span, escaped)
                } else {
                    try s.skipValue(depth: 1)
                }
                if try s.endOfMember(closing: UInt8(ascii: "}")) { break }
            }
        }
        s.skipWhitespace()
        guard s.atEnd else { throw s.failure("trailing data after the report") }
    }

    func topology(named name: ByteSpan, in s: JSONScanner) -> EntityKind? {
        switch name.count {
        case 4: return s.span(name, is: "Host") ? .host : nil
        case 3: return s.span(name, is: "Pod") ? .pod : nil
        case 7:
            if s.span(name, is: "Process") { return .process }
            if s.span(name, is: "Service") { return .service }
            return nil
        case 8: return s.span(name, is: "Endpoint") ? .endpoint : nil
        case 9:
            if s.span(name, is: "Container") { return .container }
            if s.span(name, is: "Namespace") { return .namespace }
            return nil
        case 11: return s.span(name, is: "CloudRegion") ? .cloudRegion : nil
        case 13: return s.span(name, is: "CloudProvider") ? .cloudProvider : nil
        case 14: return s.span(name, is: "ContainerImage") ? .containerImage : nil
        case 17: return s.span(name, is: "KubernetesCluster") ? .kubernetesCluster : nil
        default: return nil
        }
    }

    // MARK: Topologies and nodes

    func parseTopology(_ s: inout JSONScanner, kind: EntityKind, into state: inout ParseState) throws(IngestError) {
        let first = try s.peek()
        if first == UInt8(ascii: "n") {
            try s.skipLiteral("null")
            return
        }
        guard first == UInt8(ascii: "{") else { throw s.failure("topology '\(kind.topologyKey ?? kind.name)' must be an object") }
        s.index += 1
        if try s.peek() == UInt8(ascii: "}") {
            s.index += 1
            return
        }
        while true {
            guard try s.peek() == JSONScanner.quote else { throw s.failure("expected an entity ID") }
            let (id, escaped) = try s.scanString()
            try s.expect(UInt8(ascii: ":"), "':'")
            try parseNode(&s, kind: kind, id: id, escaped: escaped, into: &state)
            if try s.endOfMember(closing: UInt8(ascii: "}")) { return }
        }
    }

    func parseNode(
        _ s: inout JSONScanner, kind: EntityKind, id: ByteSpan, escaped: Bool, into state: inout ParseState
    ) throws(IngestError) {
        guard try s.peek() == UInt8(ascii: "{") else {
            throw s.failure("entity of '\(kind.topologyKey ?? kind.name)' must be an object")
        }
        let bodyStart = s.index
        let key = entityKey(s, id, escaped: escaped, seed: kind.hashSeed)
        var metrics = MetricSpans()
        // Excluded spans, in document order: at most one per volatile key and the detached
        // adjacency are expected; more are hashed.
        var excluded = ExcludedSpans()
        // The endpoint's first `adjacency` member, left out of its digest and stored body with
        // the comma that joined it (see ``MemberCut``).
        var cut = MemberCut()
        var detachedCount = 0
        s.index += 1
        if try s.peek() == UInt8(ascii: "}") {
            s.index += 1
        } else {
            while true {
                guard try s.peek() == JSONScanner.quote else { throw s.failure("expected a member name") }
                let memberStart = s.index
                cut.memberStarts(at: memberStart, excluded: &excluded)
                let (name, _) = try s.scanString()
                try s.expect(UInt8(ascii: ":"), "':'")
                var detach = false
                if s.span(name, is: "metadata"), try s.peek() == UInt8(ascii: "{") {
                    try Self.parseMetadata(&s, metrics: &metrics, excluded: &excluded)
                } else if kind == .endpoint, s.span(name, is: "adjacency"), try s.peek() == UInt8(ascii: "[") {
                    try parseAdjacency(&s, source: id, escaped: escaped, sourceKey: key, into: &state)
                    detachedCount += 1
                    detach = detachedCount == 1
                } else {
                    try s.skipValue(depth: 2)
                }
                cut.memberEnds(start: memberStart, end: s.index, cut: detach, excluded: &excluded)
                if try s.endOfMember(closing: UInt8(ascii: "}")) { break }
            }
            cut.objectEnds(excluded: &excluded)
        }
        let body = ByteSpan(start: bodyStart, end: s.index)
        // The entity level cuts only the adjacency: its span, if any, is the detached one.
        let detached = cut.last
        let digest = excluded.withSpans { Self.digest(s.base, body: body, excluding: $0, seed: kind.hashSeed) }
        switch kind {
        case .host:
            state.hostCount += 1
            state.hostIndex = state.entities.count
        case .kubernetesCluster:
            state.clusterCount += 1
            state.clusterIndex = state.entities.count
        default: break
        }
        state.entities.append(
            ParsedEntity(kind: kind, escaped: escaped, id: id, peer: .empty, body: body, key: key, digest: digest,
                         metrics: metrics, detached: detached))
        guard state.entities.count <= limits.maxEntities else {
            throw IngestError.reportTooComplex(
                "the report carries more than \(limits.maxEntities) entities", setting: "--max-report-entities")
        }
    }

    /// Walks a node's `metadata`, recording the volatile members' value spans and excluding each
    /// member from the digest with the comma that joined it (see ``MemberCut``).
    static func parseMetadata(_ s: inout JSONScanner, metrics: inout MetricSpans, excluded: inout ExcludedSpans) throws(IngestError) {
        s.index += 1
        if try s.peek() == UInt8(ascii: "}") {
            s.index += 1
            return
        }
        var cut = MemberCut()
        while true {
            guard try s.peek() == JSONScanner.quote else { throw s.failure("expected a member name") }
            let memberStart = s.index
            cut.memberStarts(at: memberStart, excluded: &excluded)
            let (name, _) = try s.scanString()
            try s.expect(UInt8(ascii: ":"), "':'")
            _ = try s.peek()
            let valueStart = s.index
            try s.skipValue(depth: 3)
            let value = ByteSpan(start: valueStart, end: s.index)
            let metric = Self.volatileMember(name, in: s)
            switch metric {
            case .cpu: metrics.cpuUsage = value
            case .memory: metrics.memoryUsage = value
            case .uptime: metrics.uptime = value
            case .openFiles: metrics.openFiles = value
            case .timestamp, nil: break
            }
            cut.memberEnds(start: memberStart, end: s.index, cut: metric != nil, excluded: &excluded)
            if try s.endOfMember(closing: UInt8(ascii: "}")) { break }
        }
        cut.objectEnds(excluded: &excluded)
    }

    /// Cuts members out of one JSON object together with the separator that joined each to the
    /// rest, so that what is left reads as the object would without them: a member after a kept
    /// one goes with the comma before it, one before every kept member with the comma after it.
    /// So `{"a":1,"cpu_usage":2,"b":3}`, `{"cpu_usage":2,"a":1,"b":3}` and `{"a":1,"b":3}` leave
    /// the same text, and a member that is there in one report and missing in the next does not
    /// change the digest.
    struct MemberCut {
        /// Whether a kept member came before.
        var keptBefore = false
        /// The end of the last member's value.
        var previousEnd = 0
        /// A cut member before every kept one: its span ends where the next member starts.
        var pendingStart: Int?
        /// The last span cut.
        var last = ByteSpan.empty

        mutating func append(_ span: ByteSpan, to excluded: inout ExcludedSpans) {
            excluded.append(span)
            last = span
        }

        @inline(__always)
        mutating func memberStarts(at start: Int, excluded: inout ExcludedSpans) {
            guard let pending = pendingStart else { return }
            append(ByteSpan(start: pending, end: start), to: &excluded)
            pendingStart = nil
        }

        @inline(__always)
        mutating func memberEnds(start: Int, end: Int, cut: Bool, excluded: inout ExcludedSpans) {
            if !cut {
                keptBefore = true
            } else if keptBefore {
                append(ByteSpan(start: previousEnd, end: end), to: &excluded)
            } else {
                pendingStart = start
            }
            previousEnd = end
        }

        /// At the object's closing brace: a pending cut member was the last one.
        mutating func objectEnds(excluded: inout ExcludedSpans) {
            guard let pending = pendingStart else { return }
            append(ByteSpan(start: pending, end: previousEnd), to: &excluded)
            pendingStart = nil
        }
    }

    enum VolatileMember { case timestamp, cpu, memory, uptime, openFiles }

    /// The spans a digest leaves out, in document order, kept inline (no allocation per
    /// entity): the five volatile members and a detached adjacency; any beyond are hashed.
    struct ExcludedSpans {
        var spans: (ByteSpan, ByteSpan, ByteSpan, ByteSpan, ByteSpan, ByteSpan) = (.empty, .empty, .empty, .empty, .empty, .empty)
        var count = 0

        mutating func append(_ span: ByteSpan) {
            switch count {
            case 0: spans.0 = span
            case 1: spans.1 = span
            case 2: spans.2 = span
            case 3: spans.3 = span
            case 4: spans.4 = span
            case 5: spans.5 = span
            default: return
            }
            count += 1
        }

        mutating func withSpans<Result>(_ body: (UnsafeBufferPointer<ByteSpan>) -> Result) -> Result {
            let count = self.count
            return withUnsafeBytes(of: &spans) { raw in
                body(UnsafeBufferPointer(rebasing: raw.bindMemory(to: ByteSpan.self)[0..<count]))
            }
        }
    }

    /// The members whose values change on every beat without the entity changing.
    @inline(__always)
    static func volatileMember(_ name: ByteSpan, in s: JSONScanner) -> VolatileMember? {
        switch name.count {
        case 9:
            if s.span(name, is: "timestamp") { return .timestamp }
            if s.span(name, is: "cpu_usage") { return .cpu }
            return nil
        case 12: return s.span(name, is: "memory_usage") ? .memory : nil
        case 6: return s.span(name, is: "uptime") ? .uptime : nil
        case 16: return s.span(name, is: "open_files_count") ? .openFiles : nil
        default: return nil
        }
    }

    /// An endpoint's `adjacency`: each string is a connection from this endpoint to that one.
    func parseAdjacency(
        _ s: inout JSONScanner, source: ByteSpan, escaped: Bool, sourceKey: UInt64, into state: inout ParseState
    ) throws(IngestError) {
        s.index += 1
        if try s.peek() == UInt8(ascii: "]") {
            s.index += 1
            return
        }
        while true {
            guard try s.peek() == JSONScanner.quote else { throw s.failure("adjacency entries must be endpoint IDs") }
            let (peer, peerEscaped) = try s.scanString()
            let key = entityKey(s, peer, escaped: peerEscaped, seed: sourceKey ^ EntityKind.connection.hashSeed)
            state.entities.append(
                ParsedEntity(kind: .connection, escaped: escaped || peerEscaped, id: source, peer: peer, body: .empty,
                             key: key, digest: 0, metrics: MetricSpans()))
            if try s.endOfMember(closing: UInt8(ascii: "]")) { return }
        }
    }

    // MARK: Hashing

    /// The stored key of an ID: the XXH64 of its decoded bytes. Never 0 (0 marks an empty slot).
    @inline(__always)
    func entityKey(_ s: JSONScanner, _ span: ByteSpan, escaped: Bool, seed: UInt64) -> UInt64 {
        let key: UInt64
        if escaped {
            let decoded = JSONText.unescape(UnsafeBufferPointer(start: s.base + Int(span.start), count: span.count))
            key = XXH64.hash(decoded, seed: seed)
        } else {
            key = XXH64.hash(UnsafeRawPointer(s.base + Int(span.start)), count: span.count, seed: seed)
        }
        return key == 0 ? 1 : key
    }

    /// XXH64 (seeded by the entity's kind) of `body` without the excluded spans, the text left
    /// hashed as one: the digest of the entity as if the volatile members and the detached
    /// adjacency had never been in it. An entity with none of them hashes as its whole body.
    static func digest(
        _ base: UnsafePointer<UInt8>, body: ByteSpan, excluding excluded: UnsafeBufferPointer<ByteSpan>, seed: UInt64
    ) -> UInt64 {
        guard !excluded.isEmpty else { return XXH64.hash(UnsafeRawPointer(base + Int(body.start)), count: body.count, seed: seed) }
        var stream = XXH64.Stream(seed: seed)
        var from = Int(body.start)
        for span in excluded {
            stream.update(UnsafeRawPointer(base + from), count: Int(span.start) - from)
            from = Int(span.end)
        }
        stream.update(UnsafeRawPointer(base + from), count: Int(body.end) - from)
        return stream.finish()
    }

    // MARK: The digest of builds before 69883a1

    /// The digest an entity's row carries when a build before 69883a1 wrote it, so that a
    /// row whose digest differs only in how it was computed is rewritten without being logged as
    /// changed (``ReportDiff/rehashed``). Those builds cut each volatile member without its
    /// comma and hashed the text between the cuts segment by segment, each seeding the next;
    /// the detached adjacency alone was cut with its comma and the text around it hashed as one
    /// segment. Computed only for an entity whose digest differs from its stored one.
    public static func previousDigest(of entity: ParsedEntity, in bytes: [UInt8]) -> UInt64? {
        guard !entity.body.isEmpty else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> UInt64? in
            // The body was validated when it was parsed: no limit can refuse it here.
            var s = JSONScanner(buffer, maxDepth: .max, maxStringBytes: .max, settings: nil)
            s.index = Int(entity.body.start) + 1
            // The metadata's volatile members, cut as this build cuts them (with their commas).
            var excluded = ExcludedSpans()
            var metrics = MetricSpans()
            do throws(IngestError) {
                if try s.peek() != UInt8(ascii: "}") {
                    while true {
                        guard try s.peek() == JSONScanner.quote else { return nil }
                        let (name, _) = try s.scanString()
                        try s.expect(UInt8(ascii: ":"), "':'")
                        if s.span(name, is: "metadata"), try s.peek() == UInt8(ascii: "{") {
                            try parseMetadata(&s, metrics: &metrics, excluded: &excluded)
                        } else {
                            try s.skipValue(depth: 2)
                        }
                        if try s.endOfMember(closing: UInt8(ascii: "}")) { break }
                    }
                }
            } catch {
                return nil
            }
            // Those builds cut each member alone: its span without the separator around it.
            var spans = excluded.withSpans { $0.map { memberText($0, in: s) } }
            if !entity.detached.isEmpty {
                spans.insert(entity.detached, at: spans.firstIndex { $0.start > entity.detached.start } ?? spans.endIndex)
            }
            // Those builds kept at most six cuts; any beyond were hashed.
            return previousDigest(
                buffer.baseAddress!, body: entity.body, excluding: spans.prefix(6), detached: entity.detached,
                seed: entity.kind.hashSeed)
        }
    }

    /// A member's own `"name": value` text in a span cut with its separator: the span without
    /// the comma and whitespace on either side (a member starts with a quote and its value never
    /// ends in either).
    static func memberText(_ span: ByteSpan, in s: JSONScanner) -> ByteSpan {
        func isSeparator(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
        }
        var start = Int(span.start)
        var end = Int(span.end)
        while start < end, isSeparator(s.base[start]) { start += 1 }
        while end > start, isSeparator(s.base[end - 1]) { end -= 1 }
        return ByteSpan(start: start, end: end)
    }

    /// The chained digest of builds before 69883a1 (see ``previousDigest(of:in:)``).
    static func previousDigest(
        _ base: UnsafePointer<UInt8>, body: ByteSpan, excluding excluded: ArraySlice<ByteSpan>, detached: ByteSpan,
        seed: UInt64
    ) -> UInt64 {
        var hash = seed
        var from = Int(body.start)
        // The text before the detached span, waiting for the text after it.
        var joined: [UInt8]?
        func segment(to end: Int, hash: UInt64) -> UInt64 {
            guard var text = joined else { return XXH64.hash(UnsafeRawPointer(base + from), count: end - from, seed: hash) }
            text.append(contentsOf: UnsafeBufferPointer(start: base + from, count: end - from))
            joined = nil
            return XXH64.hash(text, seed: hash)
        }
        for span in excluded {
            if span == detached {
                joined = (joined ?? []) + UnsafeBufferPointer(start: base + from, count: Int(span.start) - from)
            } else {
                hash = segment(to: Int(span.start), hash: hash)
            }
            from = Int(span.end)
        }
        return segment(to: Int(body.end), hash: hash)
    }
}
