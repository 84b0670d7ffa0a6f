import IngestCompression
import LoadTestCore
import Synchronization

/// One simulated sensor's gzipped reports, built from its report's pieces (see
/// ``SimulatedSensor/pieces()``) kept compressed between reports.
///
/// Each piece is compressed against the text of the piece before it (the decompressor has just
/// produced that text, so the piece may refer to it), which keeps the ratio near that of the
/// document gzipped whole. A kept piece is laid again as it was while its version and the
/// version of the piece before it stayed; otherwise it is compressed again: with the report's
/// time if its own version moved, else rendered as it was (with the time it was rendered at),
/// against the new text before it. So a report compresses the head, the pieces that changed and
/// the ones right after them, not the whole document.
package struct ReportBodies {
    /// What a piece was compressed against: the piece before it, at a version.
    struct Stamp: Hashable {
        let key: UInt32
        let version: UInt64
    }

    struct Kept {
        var version: UInt64
        /// The time its text carries.
        var timestamp: String
        var after: Stamp?
        var piece: GzipPieces.Piece
    }

    var kept: [UInt32: Kept] = [:]
    /// Pieces compressed so far (the rest were laid as compressed before).
    package private(set) var compressedPieces = 0

    package init() {}

    /// The gzipped report of `world` as it is now.
    package mutating func body(of world: SimulatedSensor, reportID: String, timestamp: String, compressors: CompressorPool) -> [UInt8] {
        let layout = world.pieces()
        // A piece is compressed against the one before it, unless that one is new in every
        // report (the head): then it refers to nothing before it.
        let after = layout.indices.map { index in
            index == 0 ? nil : layout[index - 1].version.map { Stamp(key: layout[index - 1].key, version: $0) }
        }
        let stale = layout.indices.filter { index in
            guard let version = layout[index].version, let kept = kept[layout[index].key] else { return true }
            return kept.version != version || kept.after != after[index]
        }
        // The time each text is rendered with: the report's for a piece that changed, the one
        // it carries for a piece unchanged (compressed again only because the piece before it
        // changed), and so for the text it is compressed against.
        func time(_ index: Int) -> String {
            guard let kept = kept[layout[index].key], kept.version == layout[index].version else { return timestamp }
            return kept.timestamp
        }
        var needed = Set(stale)
        for index in stale where after[index] != nil { needed.insert(index - 1) }
        var texts: [Int: [UInt8]] = [:]
        for (time, indexes) in Dictionary(grouping: needed.sorted(), by: time) {
            for (index, text) in zip(indexes, world.render(indexes.map { layout[$0] }, reportID: reportID, timestamp: time)) {
                texts[index] = text
            }
        }
        var fresh: [Int: GzipPieces.Piece] = [:]
        compressors.with { compressor in
            for index in stale {
                let piece = compressor.piece(texts[index]!, dictionary: after[index] == nil ? nil : texts[index - 1])
                if let version = layout[index].version {
                    kept[layout[index].key] = Kept(version: version, timestamp: time(index), after: after[index], piece: piece)
                }
                fresh[index] = piece
            }
        }
        compressedPieces += stale.count
        return GzipPieces.assemble(layout.indices.map { fresh[$0] ?? kept[layout[$0].key]!.piece })
    }
}

/// Deflate streams shared by the sensors of a fleet: each is several hundred kilobytes, so
/// there are as many as compress at once, not one per sensor.
package final class CompressorPool: Sendable {
    let level: Int32
    let idle = Mutex<[GzipPieces.Compressor]>([])

    package init(level: Int32) { self.level = level }

    /// `text` gzipped whole, as a sensor sends it, on a pooled stream (making a stream per
    /// report cost more than a small report's compression).
    package func gzip(_ text: [UInt8]) -> [UInt8] {
        with { GzipPieces.assemble([$0.piece(text)]) }
    }

    func with<T>(_ body: (GzipPieces.Compressor) -> T) -> T {
        let compressor = idle.withLock { $0.popLast() } ?? GzipPieces.Compressor(level: level)
        defer { idle.withLock { $0.append(compressor) } }
        return body(compressor)
    }
}
