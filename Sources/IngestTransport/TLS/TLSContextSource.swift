import Foundation
import Logging
import Metrics
import NIOSSL
import Synchronization

/// The public listener's TLS context: fixed, or read from a certificate and key file and
/// replaced, without a restart, when either file changes (`--tls-reload-interval`). New
/// connections get the new certificate; open ones keep theirs.
///
/// A change is seen by the files' modification time, size and inode (a Kubernetes Secret
/// volume swaps a symlink, which changes all three). Files that do not load (half written, or
/// a key that does not match) leave the old context in place; the next change is tried again.
public final class TLSContextSource: Sendable {
    struct Stamp: Hashable {
        var certificate: [Int]
        var key: [Int]
    }

    struct State {
        var context: NIOSSLContext
        var stamp: Stamp?
        /// The stamp of files that failed to load, so each bad version is logged once.
        var failedStamp: Stamp?
    }

    let state: Mutex<State>
    /// The watched files; nil for a fixed context.
    public let files: (certificate: String, key: String)?
    let reloads = Counter(label: "ingest.tls.reloads", dimensions: [("result", "ok")])
    let failures = Counter(label: "ingest.tls.reloads", dimensions: [("result", "failed")])

    /// A context that never changes (generated material, internal listeners).
    public init(fixed context: NIOSSLContext) {
        state = Mutex(State(context: context))
        files = nil
    }

    /// The context of a PEM certificate chain and key file, watched for changes.
    public init(certificateFile: String, keyFile: String) throws {
        let stamp = Self.stamp(certificateFile, keyFile)
        let context = try TLSMaterial(certificateFile: certificateFile, keyFile: keyFile).serverContext()
        state = Mutex(State(context: context, stamp: stamp))
        files = (certificateFile, keyFile)
    }

    /// The context a new connection is served with.
    public var current: NIOSSLContext { state.withLock { $0.context } }

    /// Loads the files again if they changed since the last load; true when the context was
    /// replaced. Throws (keeping the old context) when the changed files do not load.
    @discardableResult
    public func reloadIfChanged() throws -> Bool {
        guard let files else { return false }
        let stamp = Self.stamp(files.certificate, files.key)
        let (known, failed) = state.withLock { ($0.stamp, $0.failedStamp) }
        guard stamp != known, stamp != failed else { return false }
        do {
            let context = try TLSMaterial(certificateFile: files.certificate, keyFile: files.key).serverContext()
            state.withLock {
                $0.context = context
                $0.stamp = stamp
                $0.failedStamp = nil
            }
            reloads.increment()
            return true
        } catch {
            state.withLock { $0.failedStamp = stamp }
            failures.increment()
            throw error
        }
    }

    /// Checks the files every `interval` until the task is cancelled.
    func watch(interval: Duration, logger: Logger) async {
        guard let files, interval > .zero else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                if try reloadIfChanged() {
                    logger.info("TLS certificate reloaded", metadata: ["certificate": "\(files.certificate)"])
                }
            } catch {
                // The error names the file and what failed to parse, never key material.
                logger.error("TLS certificate files changed but do not load; the previous certificate stays in use", metadata: [
                    "certificate": "\(files.certificate)", "error": "\(type(of: error))",
                ])
            }
        }
    }

    static func stamp(_ certificate: String, _ key: String) -> Stamp {
        Stamp(certificate: fileStamp(certificate), key: fileStamp(key))
    }

    static func fileStamp(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
    }
}
