import Foundation
import IngestCore
import NIOCore
import PostgresNIO

/// SBOM parts: written by the gateway that received an upload, read back by the operator API,
/// and deleted when nothing points at them.
extension PlacementStore {
    /// Largest SBOM part: a row of `sbom_parts`, and what one read returns.
    public static let sbomPartBytes = 1 << 20

    /// Stores one part of an upload.
    public func storeSBOMPart(uploadID: UUID, part: Int, data: ByteBuffer, at: Date) async throws {
        try await database.execute(
            """
            INSERT INTO sbom_parts (upload_id, part, data, stored_at) VALUES (\(uploadID), \(Int32(part)), \(data), \(at))
            ON CONFLICT (upload_id, part) DO UPDATE SET data = EXCLUDED.data
            """)
    }

    /// A scan's SBOM row as JSON, or nil.
    public func sbom(of scanID: String) async throws -> String? {
        for try await json in try await database.query(
            """
            SELECT json_build_object('scan_id', scan_id, 'node_id', node_id, 'bytes', bytes, 'inflated_bytes', inflated_bytes,
                'sha256', sha256, 'parts', parts, 'fields', fields, 'stored_at', stored_at)::text
            FROM sboms WHERE scan_id = \(scanID)
            """, logger: logger
        ).decode(String.self) {
            return json
        }
        return nil
    }

    /// Part `part` of a scan's SBOM (the gzipped SBOM is its parts in order), or nil.
    public func sbomPart(of scanID: String, part: Int) async throws -> ByteBuffer? {
        for try await data in try await database.query(
            """
            SELECT p.data FROM sboms s JOIN sbom_parts p ON p.upload_id = s.upload_id
            WHERE s.scan_id = \(scanID) AND p.part = \(Int32(part))
            """, logger: logger
        ).decode(ByteBuffer.self) {
            return data
        }
        return nil
    }

    /// Deletes the parts that no SBOM row points at and were stored before `cutoff` (uploads
    /// whose row never committed, and uploads a newer one replaced); returns how many.
    @discardableResult
    public func deleteOrphanSBOMParts(storedBefore cutoff: Date) async throws -> Int {
        var count = 0
        for try await _ in try await database.query(
            """
            DELETE FROM sbom_parts p WHERE p.stored_at < \(cutoff)
              AND NOT EXISTS (SELECT 1 FROM sboms s WHERE s.upload_id = p.upload_id) RETURNING 1
            """, logger: logger
        ).decode(Int32.self) {
            count += 1
        }
        return count
    }
}
