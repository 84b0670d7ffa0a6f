import IngestCompression
import LoadTestCore

/// One simulated sensor's gzipped reports, made from its report's pieces (see
/// ``SimulatedSensor/pieces()``) kept as text between reports: a report renders only the head
/// and the pieces whose version moved, not the whole document, and is then gzipped whole, as a
/// ThreatMapper sensor gzips its report. A kept piece carries the time it was rendered at, as
/// an entity's state does; the console leaves `timestamp` members out of what it compares.
package struct ReportBodies {
    struct Kept {
        var version: UInt64
        var text: [UInt8]
    }

    var kept: [UInt32: Kept] = [:]
    /// Pieces rendered so far (the rest were laid as kept).
    package private(set) var renderedPieces = 0

    package init() {}

    /// The report of `world` as it is now, gzipped at `level` (0 to 9; 1: fastest).
    package mutating func body(of world: SimulatedSensor, reportID: String, timestamp: String, level: Int32) -> [UInt8] {
        let layout = world.pieces()
        let moved = layout.filter { piece in
            guard let version = piece.version, let kept = kept[piece.key] else { return true }
            return kept.version != version
        }
        renderedPieces += moved.count
        var fresh: [UInt32: [UInt8]] = [:]
        for (piece, text) in zip(moved, world.render(moved, reportID: reportID, timestamp: timestamp)) {
            // Pieces new in every report (the head) are not kept.
            // Kept texts in buffers of their size: a piece is rendered into a generous estimate.
            if let version = piece.version { kept[piece.key] = Kept(version: version, text: text.compacted()) } else { fresh[piece.key] = text }
        }
        let texts = layout.map { fresh[$0.key] ?? kept[$0.key]!.text }
        var document: [UInt8] = []
        document.reserveCapacity(texts.reduce(0) { $0 + $1.count })
        for text in texts { document.append(contentsOf: text) }
        return Gzip.compress(document, level: level)
    }
}
