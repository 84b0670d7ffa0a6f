#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore
import NIOCore

/// How the server takes a request's body, as its responder decides from the request head.
public enum BodyIntake: Sendable {
    /// Collected in memory up to the body limit (every route but uploads).
    case collect
    /// Written to a new file in `directory` as it arrives, up to the body limit, so the memory a
    /// request holds is one frame's worth whatever its size; the request carries the file
    /// (``HTTPRequest/spooled``), which the server deletes once the request is answered. The
    /// body may take `timeout` to arrive (instead of the request timeout: an upload of hundreds
    /// of megabytes over a slow link takes minutes). `lease` (the disk reserved for it) is held
    /// until the file is gone.
    case spool(directory: String, timeout: Duration, lease: SpoolBudget.Lease?)
    /// Answered at once with this response (an upload without a valid token, or too many at
    /// once); the body is dropped as it arrives, as for a body over the limit.
    case refuse(HTTPResponse)
}

/// A request body the server wrote to a file.
public struct SpooledBody: Sendable {
    /// The file (mode 0600, removed after the answer).
    public let path: String
    /// Bytes in it.
    public let size: Int
    /// The disk reserved for the upload, held while the body is.
    let lease: SpoolBudget.Lease?
}

/// A body being written to a file, one chunk at a time, on the connection's event loop.
///
/// Writes are plain `write(2)` calls: they land in the page cache and return in microseconds
/// (an upload of 500 MB is about 30,000 of them), so they stay on the loop rather than add a
/// thread hop and a copy per chunk.
final class BodySpool {
    let path: String
    private var descriptor: Int32
    private(set) var size = 0
    let lease: SpoolBudget.Lease?

    /// A new file in `directory`; nil if it cannot be created.
    init?(directory: String, lease: SpoolBudget.Lease?) {
        self.lease = lease
        let name = "\(directory)/upload-\(UInt64.random(in: 0...UInt64.max)).spool"
        let fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        path = name
        descriptor = fd
    }

    /// Appends a chunk; false if the write failed (disk full).
    func append(_ chunk: ByteBuffer) -> Bool {
        guard descriptor >= 0 else { return false }
        let written = chunk.withUnsafeReadableBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        if written { size += chunk.readableBytes }
        return written
    }

    /// Closes the file and hands it over.
    func finish() -> SpooledBody {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        return SpooledBody(path: path, size: size, lease: lease)
    }

    /// Closes and deletes the file (the request was refused, reset or never finished).
    func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(path)
        lease?.release()
    }

    /// Deletes a handed-over file.
    static func remove(_ body: SpooledBody?) {
        if let body {
            unlink(body.path)
            body.lease?.release()
        }
    }
}
