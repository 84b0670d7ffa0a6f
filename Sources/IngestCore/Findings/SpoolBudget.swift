import Synchronization

/// The disk a gateway's uploads may hold at once (`--max-spool-bytes`), reserved when an
/// upload is admitted (from its request head, before a byte is written) and given back when
/// its files are gone.
///
/// An upload needs its own size on disk and, while it is checked, its decoded SBOM beside it
/// (base64 decodes to three quarters): ``bytes(forUpload:)``. One whose size is not announced
/// (no `content-length`) is reserved as the largest allowed.
public final class SpoolBudget: Sendable {
    public let capacity: Int
    private let used = Mutex(0)

    public init(capacity: Int) { self.capacity = capacity }

    /// Disk an upload of `bytes` needs at most: the upload and its decoded SBOM.
    public static func bytes(forUpload bytes: Int) -> Int { bytes + (bytes * 3 + 3) / 4 }

    /// Bytes reserved now.
    public var reserved: Int { used.withLock { $0 } }

    /// Reserves `bytes`, or nil if they do not fit beside what is reserved. The reservation is
    /// given back when the lease is released or dropped, whichever comes first.
    public func reserve(_ bytes: Int) -> Lease? {
        let granted = used.withLock { used -> Bool in
            guard used + bytes <= capacity else { return false }
            used += bytes
            return true
        }
        return granted ? Lease(budget: self, bytes: bytes) : nil
    }

    fileprivate func giveBack(_ bytes: Int) { used.withLock { $0 -= bytes } }

    /// One admitted upload's reservation: held by whatever holds the upload's files (the body
    /// being written, then the request being answered), and given back when the last of them
    /// lets go.
    public final class Lease: Sendable {
        public let bytes: Int
        private let budget: SpoolBudget
        private let held = Mutex(true)

        fileprivate init(budget: SpoolBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        /// Gives the reservation back (once).
        public func release() {
            if held.withLock({ held in defer { held = false }; return held }) { budget.giveBack(bytes) }
        }

        deinit { release() }
    }
}
