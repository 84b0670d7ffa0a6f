import Foundation

/// A child process started with `posix_spawn`, its standard output and error going to a file:
/// killed for real, waited for with a timeout. (Used by the tests and the load-test fault steps.)
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Where its output goes.
    public let outputPath: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`; environment additions are merged into this process's.
    public init(executable: String, arguments: [String], environment: [String: String] = [:], outputPath: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = [executable] + arguments
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let cEnvironment = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in cEnvironment { free(pointer) } }
        var pid = pid_t()
        markDescriptorsCloseOnExec()
        let status = posix_spawn(&pid, executable, &actions, nil, cArguments, cEnvironment)
        guard status == 0 else {
            throw NSError(domain: "ChildProcess", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "could not start \(executable): \(String(cString: strerror(status)))"])
        }
        self.pid = pid
        self.outputPath = outputPath
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Sends a signal (SIGTERM for a graceful stop, SIGKILL for a crash).
    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// The exit status once it exited (reaping it), nil while it runs.
    public func poll() -> Int32? {
        lock.withLock {
            if let exitStatus { return exitStatus }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = status
            }
            return exitStatus
        }
    }

    /// Waits up to `timeout` for the process to exit; returns its raw wait status, or nil.
    public func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let status = poll() { return status }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return poll()
    }

    /// Waits until the output contains `text`, up to `timeout`; false if the process exited or time ran out.
    public func waitForOutput(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            if poll() != nil { return output.contains(text) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Whether a wait status means a normal exit with code 0.
    public static func exitedCleanly(_ status: Int32?) -> Bool {
        guard let status else { return false }
        return status & 0x7f == 0 && (status >> 8) & 0xff == 0
    }
}

/// Marks every open descriptor above standard error close-on-exec, so a child started next
/// inherits none of this process's sockets (a server started by a process holding thousands of
/// connections would otherwise count them against its own descriptor limit, and keep them open).
func markDescriptorsCloseOnExec() {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
    for entry in entries {
        guard let descriptor = Int32(entry), descriptor > 2 else { continue }
        let flags = fcntl(descriptor, F_GETFD)
        if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
    }
}
