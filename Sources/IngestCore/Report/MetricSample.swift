/// A report's volatile metrics as one JSON document, the row a metric sample stores:
/// `{"<kind>": {"<entity id>": {"cpu_usage": …, "memory_usage": …, "uptime": …, "open_files_count": …}}}`,
/// kinds in the order their first entity with a metric appears, entities in report order, each
/// value copied as the raw JSON text the report carried (the parser validated the whole report,
/// so the document is valid JSON). Workers store it gzipped (`metric_samples.metrics_gzip`).
public enum MetricSample {
    static let kindSlots = Int(EntityKind.allCases.map(\.rawValue).max() ?? 0) + 1

    /// The document, or nil if no entity carries a metric. Its size is counted first and the
    /// bytes written through a pointer into a buffer of that size (a sample is built for every
    /// node once a `--metric-sample-interval`; appending to an array piece by piece cost as much
    /// as gzipping the result).
    public static func json(of report: ParsedReport) -> [UInt8]? {
        var buckets = [[Int32]](repeating: [], count: kindSlots)
        var order: [EntityKind] = []
        // Every brace, quote, colon and comma counted once per member (one comma too many per group).
        var size = 2
        for (index, entity) in report.entities.enumerated() where !entity.metrics.isEmpty {
            let kind = Int(entity.kind.rawValue)
            if buckets[kind].isEmpty {
                order.append(entity.kind)
                size += entity.kind.name.utf8.count + 6
            }
            buckets[kind].append(Int32(index))
            let metrics = entity.metrics
            size += entity.id.count + 6
            size += Writer.memberSize("cpu_usage", metrics.cpuUsage) + Writer.memberSize("memory_usage", metrics.memoryUsage)
                + Writer.memberSize("uptime", metrics.uptime) + Writer.memberSize("open_files_count", metrics.openFiles)
        }
        guard !order.isEmpty else { return nil }
        return report.bytes.withUnsafeBufferPointer { bytes in
            [UInt8](unsafeUninitializedCapacity: size) { buffer, written in
                var out = Writer(base: buffer.baseAddress!, source: bytes.baseAddress!)
                out.byte(UInt8(ascii: "{"))
                for (kindNumber, kind) in order.enumerated() {
                    if kindNumber > 0 { out.byte(UInt8(ascii: ",")) }
                    out.byte(UInt8(ascii: "\""))
                    var name = kind.name
                    name.withUTF8 { out.bytes($0) }
                    out.text("\":{")
                    for (entityNumber, index) in buckets[Int(kind.rawValue)].enumerated() {
                        let entity = report.entities[Int(index)]
                        if entityNumber > 0 { out.byte(UInt8(ascii: ",")) }
                        out.byte(UInt8(ascii: "\""))
                        out.raw(entity.id)
                        out.text("\":{")
                        let metrics = entity.metrics
                        var first = true
                        out.member("cpu_usage", metrics.cpuUsage, first: &first)
                        out.member("memory_usage", metrics.memoryUsage, first: &first)
                        out.member("uptime", metrics.uptime, first: &first)
                        out.member("open_files_count", metrics.openFiles, first: &first)
                        out.byte(UInt8(ascii: "}"))
                    }
                    out.byte(UInt8(ascii: "}"))
                }
                out.byte(UInt8(ascii: "}"))
                precondition(out.offset <= size, "a metric sample outgrew the size counted for it")
                written = out.offset
            }
        }
    }

    /// Writes bytes at a cursor into memory sized beforehand.
    struct Writer {
        let base: UnsafeMutablePointer<UInt8>
        /// The report's bytes, which spans point into.
        let source: UnsafePointer<UInt8>
        var offset = 0

        mutating func byte(_ value: UInt8) {
            base[offset] = value
            offset += 1
        }

        mutating func bytes(_ buffer: UnsafeBufferPointer<UInt8>) {
            guard let from = buffer.baseAddress else { return }
            (base + offset).initialize(from: from, count: buffer.count)
            offset += buffer.count
        }

        mutating func text(_ text: StaticString) {
            bytes(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        mutating func raw(_ span: ByteSpan) {
            bytes(UnsafeBufferPointer(start: source + Int(span.start), count: span.count))
        }

        /// `"name":value` if the report carried the value, after a comma unless it is the first.
        mutating func member(_ name: StaticString, _ value: ByteSpan, first: inout Bool) {
            guard !value.isEmpty else { return }
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            byte(UInt8(ascii: "\""))
            text(name)
            text("\":")
            raw(value)
        }

        /// The most ``member(_:_:first:)`` writes: the comma, the quotes and the colon included.
        static func memberSize(_ name: StaticString, _ value: ByteSpan) -> Int {
            value.isEmpty ? 0 : name.utf8CodeUnitCount + 4 + value.count
        }
    }
}
