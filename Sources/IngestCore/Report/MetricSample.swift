/// A report's volatile metrics as one JSON document, the row a metric sample stores:
/// `{"<kind>": {"<entity id>": {"cpu_usage": …, "memory_usage": …, "uptime": …, "open_files_count": …}}}`,
/// kinds in the order their first entity with a metric appears, entities in report order, each
/// value copied as the raw JSON text the report carried (the parser validated the whole report,
/// so the document is valid JSON). Workers store it gzipped (`metric_samples.metrics_gzip`).
public enum MetricSample {
    static let kindSlots = Int(EntityKind.allCases.map(\.rawValue).max() ?? 0) + 1

    /// The document, or nil if no entity carries a metric. Written byte by byte into one buffer
    /// (a sample is built for every node once a `--metric-sample-interval`; building it from
    /// interpolated strings cost more than parsing the report).
    public static func json(of report: ParsedReport) -> [UInt8]? {
        var buckets = [[Int32]](repeating: [], count: kindSlots)
        var order: [EntityKind] = []
        var size = 2
        for (index, entity) in report.entities.enumerated() where !entity.metrics.isEmpty {
            let kind = Int(entity.kind.rawValue)
            if buckets[kind].isEmpty { order.append(entity.kind) }
            buckets[kind].append(Int32(index))
            size += Int(entity.id.end - entity.id.start) + 100
        }
        guard !order.isEmpty else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(size + order.count * 24)
        report.bytes.withUnsafeBufferPointer { bytes in
            func raw(_ span: ByteSpan) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[Int(span.start)..<Int(span.end)]))
            }
            out.append(UInt8(ascii: "{"))
            for (kindNumber, kind) in order.enumerated() {
                if kindNumber > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: kind.name.utf8)
                out.append(contentsOf: "\":{".utf8)
                for (entityNumber, index) in buckets[Int(kind.rawValue)].enumerated() {
                    let entity = report.entities[Int(index)]
                    if entityNumber > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(UInt8(ascii: "\""))
                    raw(entity.id)
                    out.append(contentsOf: "\":{".utf8)
                    var first = true
                    func field(_ name: StaticString, _ span: ByteSpan) {
                        guard !span.isEmpty else { return }
                        if !first { out.append(UInt8(ascii: ",")) }
                        first = false
                        out.append(UInt8(ascii: "\""))
                        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
                        out.append(contentsOf: "\":".utf8)
                        raw(span)
                    }
                    let metrics = entity.metrics
                    field("cpu_usage", metrics.cpuUsage)
                    field("memory_usage", metrics.memoryUsage)
                    field("uptime", metrics.uptime)
                    field("open_files_count", metrics.openFiles)
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "}"))
        }
        return out
    }
}
