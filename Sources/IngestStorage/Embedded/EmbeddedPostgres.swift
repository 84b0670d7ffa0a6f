import Crypto
import Foundation
import IngestCore
import Logging

/// A private PostgreSQL server run from the machine's PostgreSQL binaries, for `all-in-one`
/// without `--database-url`.
///
/// The cluster lives in `<data-dir>/postgres`, listens only on a Unix socket in a directory only
/// its owner can enter (no TCP port), trusts local connections (the socket directory's
/// permissions are the access control) and is reused on the next start. When the console runs as
/// root, the server runs as the `postgres` user (PostgreSQL refuses to run as root); if that user
/// cannot reach the data directory (for example under a 0700 home directory), the cluster is
/// kept in `/var/lib/threatmapper-console/<hash of the data directory>` instead.
public final class EmbeddedPostgres: Sendable {
    /// Why the embedded server could not be set up.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The console's data directory.
    public let dataDirectory: URL
    /// The PostgreSQL `bin` directory in use.
    public let binDirectory: URL
    /// Where the cluster's files are.
    public let clusterDirectory: URL
    /// The directory holding the server's socket.
    public let socketDirectory: URL
    /// The user the server runs as when the console runs as root.
    let serverUser: String?
    let logger: Logger
    /// Server settings that replace or add to ``defaultSettings(majorVersion:)``
    /// (`--postgres-settings`).
    let settingOverrides: [(name: String, value: String)]
    /// The superuser created in the cluster.
    public static let username = "console"

    /// Server settings the embedded PostgreSQL starts with.
    ///
    /// Checkpoints are what cost the most here: after each one, the first change to every page
    /// writes the whole 8 KB page to the WAL, and the console's small changes are spread over
    /// every node's rows. Measured with 10,000 simulated sensors, `max_wal_size` 2 GB and
    /// `checkpoint_timeout` 5 min: checkpoints every one to three minutes,
    /// 68 % of the WAL made of full-page images, 4.9 MB/s of WAL in the steady state. So
    /// checkpoints come at most every 15 minutes or 8 GB of WAL (space the disk must have),
    /// and page images are compressed. Values too large to store inline (a node's metric sample,
    /// about 13 KB for a host of 160 processes, is written every `--metric-sample-interval`) are
    /// compressed with lz4 where the server has it (14 and later): pglz was 5 % of the
    /// database's CPU in a profile of 6,000 sensors.
    public static func defaultSettings(majorVersion: Int) -> [(name: String, value: String)] {
        var settings = [
            ("max_connections", "200"),
            ("shared_buffers", "256MB"),
            ("max_wal_size", "8GB"),
            ("checkpoint_timeout", "15min"),
            ("wal_compression", majorVersion >= 15 ? "lz4" : "on"),
        ]
        if majorVersion >= 14 { settings.append(("default_toast_compression", "lz4")) }
        return settings
    }

    /// Locates the binaries and decides where the cluster lives; starts nothing yet.
    public init(
        dataDirectory: URL, binDirectory: String? = nil, settings: [(name: String, value: String)] = [], logger: Logger
    ) throws {
        self.logger = logger
        self.settingOverrides = settings
        self.dataDirectory = dataDirectory.standardizedFileURL
        self.binDirectory = try Self.findBinaries(binDirectory)
        let isRoot = getuid() == 0
        serverUser = isRoot ? "postgres" : nil
        try FileManager.default.createDirectory(at: self.dataDirectory, withIntermediateDirectories: true)
        var cluster = self.dataDirectory.appendingPathComponent("postgres")
        if isRoot {
            // Let the postgres user traverse (not read) the data directory.
            chmod(self.dataDirectory.path, 0o711)
            if !Self.run(["/usr/bin/test", "-x", self.dataDirectory.path], as: "postgres").succeeded {
                let digest = SHA256.hash(data: Data(self.dataDirectory.path.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
                cluster = URL(fileURLWithPath: "/var/lib/threatmapper-console/\(digest)/postgres")
            }
        }
        clusterDirectory = cluster
        var socket = cluster.deletingLastPathComponent().appendingPathComponent("postgres-run")
        if socket.path.utf8.count > 90 {
            let digest = SHA256.hash(data: Data(cluster.path.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
            socket = URL(fileURLWithPath: "/tmp/tm-console-\(digest)")
        }
        socketDirectory = socket
    }

    /// The URL of a database in this cluster.
    public func url(database: String) -> DatabaseURL {
        DatabaseURL(username: Self.username, database: database, tls: .disable, socketDirectory: socketDirectory.path)
    }

    /// Creates the cluster on first use, then starts the server (or finds it running); returns
    /// whether this call started it.
    @discardableResult
    public func start() throws -> Bool {
        let files = FileManager.default
        try files.createDirectory(at: clusterDirectory, withIntermediateDirectories: true)
        try files.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        chmod(clusterDirectory.path, 0o700)
        chmod(socketDirectory.path, 0o700)
        if let serverUser {
            for path in [clusterDirectory.path, socketDirectory.path] {
                let chown = Self.run(["/bin/chown", "-R", "\(serverUser):\(serverUser)", path], as: nil)
                guard chown.succeeded else { throw Failure(description: "could not give \(path) to \(serverUser): \(chown.output)") }
            }
        }
        let versionFile = clusterDirectory.appendingPathComponent("PG_VERSION")
        if !files.fileExists(atPath: versionFile.path) {
            logger.info("creating the embedded PostgreSQL cluster", metadata: ["path": "\(clusterDirectory.path)"])
            let initdb = Self.run(
                [binDirectory.appendingPathComponent("initdb").path, "-D", clusterDirectory.path, "-U", Self.username,
                 "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"], as: serverUser)
            guard initdb.succeeded else { throw Failure(description: "initdb failed: \(initdb.output)") }
        }
        if Self.run([pgCtl, "-D", clusterDirectory.path, "status"], as: serverUser).succeeded {
            logger.info("the embedded PostgreSQL is already running; reusing it")
            return false
        }
        let majorVersion = (try? String(contentsOf: versionFile, encoding: .utf8))
            .flatMap { Int($0.split(separator: ".").first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") } ?? 0
        let settings = SettingText.merging(Self.defaultSettings(majorVersion: majorVersion), settingOverrides)
        // Where the server listens is not a setting: only this socket, only for its owner.
        let fixed = ["listen_addresses", "unix_socket_directories", "unix_socket_permissions"]
        let options = ([
            "-c listen_addresses=''",
            "-c unix_socket_directories='\(socketDirectory.path)'",
            "-c unix_socket_permissions=0700",
        ] + settings.filter { !fixed.contains($0.name) }.map { "-c \($0.name)=\($0.value)" }).joined(separator: " ")
        let logFile = clusterDirectory.deletingLastPathComponent().appendingPathComponent("postgres.log")
        if let serverUser, !files.fileExists(atPath: logFile.path) {
            _ = files.createFile(atPath: logFile.path, contents: nil)
            _ = Self.run(["/bin/chown", "\(serverUser):\(serverUser)", logFile.path], as: nil)
        }
        let start = Self.run(
            [pgCtl, "-D", clusterDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-o", options, "start"], as: serverUser)
        guard start.succeeded else {
            throw Failure(description: "the embedded PostgreSQL did not start (log: \(logFile.path)): \(start.output)")
        }
        logger.info("embedded PostgreSQL started", metadata: ["socket": "\(socketDirectory.path)"])
        return true
    }

    /// Stops the server cleanly (fast shutdown: running transactions roll back, data is flushed).
    public func stop() {
        let stop = Self.run([pgCtl, "-D", clusterDirectory.path, "-m", "fast", "-w", "-t", "60", "stop"], as: serverUser)
        if stop.succeeded {
            logger.info("embedded PostgreSQL stopped")
        } else {
            logger.warning("embedded PostgreSQL did not stop cleanly", metadata: ["output": "\(stop.output)"])
        }
    }

    var pgCtl: String { binDirectory.appendingPathComponent("pg_ctl").path }

    // MARK: Helpers

    static func findBinaries(_ configured: String?) throws -> URL {
        if let configured {
            let url = URL(fileURLWithPath: configured)
            guard FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("initdb").path) else {
                throw Failure(description: "no initdb in --postgres-bin \(configured)")
            }
            return url
        }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        let found = versions.compactMap { version -> (Int, URL)? in
            let bin = URL(fileURLWithPath: "\(root)/\(version)/bin")
            guard let number = Int(version), FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path)
            else { return nil }
            return (number, bin)
        }.max { $0.0 < $1.0 }
        guard let found else {
            throw Failure(description: "PostgreSQL server binaries were not found under \(root); install Debian's 'postgresql' package (scripts/setup-debian.sh does), pass --postgres-bin, or use --database-url")
        }
        return found.1
    }

    struct Outcome {
        var succeeded: Bool
        var output: String
    }

    /// Runs a command, as `user` via runuser when given; returns whether it exited 0 and its
    /// output. Output goes to a temporary file, not a pipe: `pg_ctl start` leaves a daemon
    /// behind, and nothing may wait on descriptors it could inherit.
    static func run(_ arguments: [String], as user: String?) -> Outcome {
        var argv = arguments
        if let user {
            let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            } ?? "/usr/sbin/runuser"
            argv = [runuser, "-u", user, "--"] + arguments
        }
        let outputPath = NSTemporaryDirectory() + "console-command-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Run from a directory every user can enter, so the server user is not stuck in root's cwd.
        argv = ["/bin/sh", "-c", "cd / && exec \"$@\"", "sh"] + argv
        var pid = pid_t()
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        markDescriptorsCloseOnExec()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            return Outcome(succeeded: false, output: "could not run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        return Outcome(
            succeeded: exited && code == 0,
            output: String(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(2000)))
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
