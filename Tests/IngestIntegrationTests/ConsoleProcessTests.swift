import Foundation
import IngestAuth
import IngestCompression
import IngestCore
import IngestGateway
import IngestStorage
import IngestTestSupport
import IngestTransport
import LoadTestRunner
import Logging
import Testing

/// The real `console all-in-one` binary on its embedded PostgreSQL, started, used and stopped
/// as an operator would, twice (the second start reuses what the first created).
@Suite(.timeLimit(.minutes(5)))
struct ConsoleProcessTests {
    static func binary() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["TEST_CONSOLE_BINARY"], FileManager.default.isExecutableFile(atPath: path) else {
            throw TestDatabase.Unavailable(description: "TEST_CONSOLE_BINARY is not set to the built console: run the tests with scripts/test.sh")
        }
        return path
    }

    struct NoFreePort: Error {}

    /// A port free now, for a child process to listen on. It is drawn below Linux's ephemeral
    /// range (32768–60999), which the outgoing connections of the tests running in parallel take
    /// their ports from: a port picked by binding to 0 was taken by one of them before the
    /// console could bind it.
    /// A new database on the test server for a console process: its URL, and that URL as the
    /// process takes it (`CONSOLE_DATABASE_URL`).
    static func newDatabase(_ label: String) async throws -> (url: DatabaseURL, text: String) {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let server = try TestDatabase.serverURL()
        let name = "t_\(label)_\(UInt32.random(in: 0...UInt32.max))"
        try await Database.createIfMissing(name, server: server, logger: logger)
        let url = server.with(database: name)
        return (url, "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)?sslmode=disable")
    }

    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_768)
            let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
            if bound == 0 { return port }
        }
        throw NoFreePort()
    }

    /// The port a console started with `--port 0` bound, from its banner's URL.
    static func boundPort(_ output: String) -> Int? {
        bannerValue(output, "Console URL:").flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
    }

    /// The value after `label` on a banner line.
    static func bannerValue(_ output: String, _ label: String) -> String? {
        output.split(separator: "\n").first { $0.contains(label) }.flatMap {
            $0.components(separatedBy: label).last?.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
        }
    }

    @Test func allInOneOnItsEmbeddedPostgres() async throws {
        let binary = try Self.binary()
        let dataDirectory = "/tmp/console-process-test-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let port = try Self.freePort()
        let metricsPort = try Self.freePort()
        let arguments = ["all-in-one", "--data-dir", dataDirectory, "--port", String(port), "--advertise-host", "localhost",
                         "--shard-count", "256", "--metrics-address", "127.0.0.1:\(metricsPort)",
                         "--postgres-settings", "work_mem=7MB,max_wal_size=3GB"]

        // First start: creates everything and prints the keys.
        let first = try ChildProcess(executable: binary, arguments: arguments, outputPath: dataDirectory + ".first.log")
        defer { first.signal(SIGKILL) }
        #expect(await first.waitForOutput("MGMT_CONSOLE_PORT=\(port)", timeout: .seconds(90)), "\(first.output)")
        let output = first.output
        let sensorKey = try #require(Self.bannerValue(output, "Sensor API key:"))
        let adminKey = try #require(Self.bannerValue(output, "Admin API key:"))
        #expect(output.contains("Console URL:      https://localhost:\(port)"))
        #expect(output.contains("DEEPFENCE_KEY=\(sensorKey)"))
        let credentials = try String(contentsOfFile: dataDirectory + "/credentials.env", encoding: .utf8)
        #expect(credentials.contains("DEEPFENCE_KEY=\(sensorKey)"))
        let attributes = try FileManager.default.attributesOfItem(atPath: dataDirectory + "/credentials.env")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // The embedded server runs with the console's settings, as overridden.
        let serverOptions = try String(contentsOfFile: dataDirectory + "/postgres/postmaster.opts", encoding: .utf8)
        #expect(serverOptions.contains("work_mem=7MB") && serverOptions.contains("max_wal_size=3GB"), "\(serverOptions)")
        #expect(serverOptions.contains("checkpoint_timeout=15min") && !serverOptions.contains("max_wal_size=8GB"), "\(serverOptions)")

        let certificate = try String(contentsOfFile: dataDirectory + "/tls/console.crt", encoding: .utf8)
        let tls = try TLSMaterial.clientContext(trusting: certificate)
        let connection = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", http2: true)
        let sensor = try await Self.login(sensorKey, on: connection)
        let text = SampleReport.text(hostname: "proc-host")
        let entities = try ReportParser().parse(Array(text.utf8)).entities.count
        let report = Gzip.compress(Array(text.utf8))
        let ingested = try await connection.postReport(report, token: sensor)
        #expect(ingested.status == .ok && ingested.text == #"{"beatrate":30}"#)
        let admin = try await Self.login(adminKey, on: connection)
        let detail = try json(try await connection.get("/api/v1/nodes/proc-host?kinds=host,process,container,container_image", token: admin))
        let profile = SampleReport.profile
        #expect(detail["counts"] as? [String: Int]
            == ["hosts": 1, "processes": profile.processes, "containers": profile.containers, "container_images": profile.images])
        await connection.close()

        // Prometheus metrics on their own plain-HTTP listener.
        let scrape = try await HTTPClientConnection.connect(host: "127.0.0.1", port: metricsPort, tls: nil, serverName: nil, http2: false)
        let metrics = try await scrape.get("/metrics", token: nil)
        #expect(metrics.status == .ok)
        #expect(metrics.text.contains("ingest_worker_reports_committed 1"), "\(metrics.text.prefix(2000))")
        #expect(metrics.text.contains("ingest_worker_entity_rows \(entities)"))
        // The process's own CPU time and resident memory, as Prometheus's clients name them.
        let resident = metrics.text.firstMatch(of: /\nprocess_resident_memory_bytes (\d+)\n/).flatMap { Int($0.output.1) } ?? 0
        #expect(resident > 10 << 20 && resident < 4 << 30, "process_resident_memory_bytes \(resident)")
        #expect(metrics.text.contains("\nprocess_cpu_seconds_total "), "\(metrics.text.suffix(600))")
        #expect(metrics.text.contains(#"ingest_gateway_requests{route="report"} 1"#))
        await scrape.close()

        // SIGTERM: a clean exit that stops the embedded PostgreSQL.
        first.signal(SIGTERM)
        #expect(ChildProcess.exitedCleanly(await first.wait(timeout: .seconds(60))), "\(first.output)")
        #expect(!FileManager.default.fileExists(atPath: dataDirectory + "/postgres/postmaster.pid"))

        // Second start: reuses the database, the keys and the certificate; creates no new keys.
        // (At debug level: whatever it logs, no key, token or key attempt may be in it.)
        let second = try ChildProcess(executable: binary, arguments: arguments + ["--log-level", "debug"], outputPath: dataDirectory + ".second.log")
        defer { second.signal(SIGKILL) }
        #expect(await second.waitForOutput("MGMT_CONSOLE_PORT=\(port)", timeout: .seconds(90)), "\(second.output)")
        #expect(!second.output.contains("Sensor API key:"))
        #expect(second.output.contains("created on first start"))
        #expect(try String(contentsOfFile: dataDirectory + "/tls/console.crt", encoding: .utf8) == certificate)
        let again = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", http2: true)
        let adminAgain = try await Self.login(adminKey, on: again)
        let kept = try json(try await again.get("/api/v1/nodes/proc-host?kinds=process", token: adminAgain))
        #expect((kept["counts"] as? [String: Int])?["processes"] == SampleReport.profile.processes)
        let guessed = APIKey.generate().token
        #expect(try await again.postJSON("/deepfence/auth/token", #"{"api_token":"\#(guessed)"}"#, token: nil).status == .unauthorized)
        #expect(try await again.get("/api/v1/nodes", token: adminAgain + "x").status == .unauthorized)
        await again.close()
        second.signal(SIGTERM)
        #expect(ChildProcess.exitedCleanly(await second.wait(timeout: .seconds(60))), "\(second.output)")
        for secret in [sensorKey, adminKey, adminAgain, guessed, String(adminAgain.split(separator: ".").last ?? "")] {
            #expect(!second.output.contains(secret), "a key or token is in the console's output")
        }
        try? FileManager.default.removeItem(atPath: dataDirectory + ".first.log")
        try? FileManager.default.removeItem(atPath: dataDirectory + ".second.log")
    }

    static func login(_ key: String, on connection: HTTPClientConnection) async throws -> String {
        let response = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(key)"}"#, token: nil)
        return try #require(try json(response)["access_token"] as? String)
    }
}

/// The configuration reference is what scripts/config-doc.py makes of every command's --help.
@Test func configurationDocumentIsGeneratedFromTheOptions() async throws {
    let binary = try ConsoleProcessTests.binary()
    let script = SharedFixtures.repositoryDirectory.appendingPathComponent("scripts/config-doc.py").path
    let output = "/tmp/console-config-doc-\(UInt32.random(in: 0...UInt32.max)).txt"
    defer { try? FileManager.default.removeItem(atPath: output) }
    let process = try ChildProcess(executable: "/usr/bin/python3", arguments: [script, "--check", binary], outputPath: output)
    let status = await process.wait(timeout: .seconds(60))
    #expect(ChildProcess.exitedCleanly(status), "\(process.output)")
    #expect(process.output.contains("matches the options"), "\(process.output)")
}

/// Mistakes in the configuration are refused, all at once, naming what was meant; a former
/// environment name still works with a warning.
@Test func configurationMistakesAreRefusedAtOnce() async throws {
    let binary = try ConsoleProcessTests.binary()
    let directory = "/tmp/console-config-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (clean: Bool, output: String) {
        let process = try ChildProcess(
            executable: binary, arguments: arguments, environment: environment,
            outputPath: directory + "/run-\(UInt32.random(in: 0...UInt32.max)).log")
        let status = await process.wait(timeout: .seconds(30))
        return (ChildProcess.exitedCleanly(status), process.output)
    }
    let file = directory + "/settings.json"
    try Data(#"{"beatRaet": 60, "maxBodyBytes": "8MiB", "placement": ["a=postgres://h/a"]}"#.utf8).write(to: URL(fileURLWithPath: file))

    // One start, every problem: an unknown variable, a setting of another role, a bad value
    // under the word-by-word name, unknown file keys, a lease no longer than two heartbeats, a
    // batch that would linger past the commit timeout, a web session shorter than a minute.
    let many = try await run(
        ["all-in-one", "--data-dir", directory, "--config", file, "--leader-lease", "3s", "--batch-linger", "30s",
         "--web-session-lifetime", "30s"],
        environment: ["CONSOLE_BEAT_RAET": "60", "CONSOLE_INTERNAL_PORT": "7443", "CONSOLE_HTTP2_RESET_LIMIT": "many",
                      "CONSOLE_GATEWAY_SERVICE_HOST": "10.0.0.7", "CONSOLE_GATEWAY_PORT_443_TCP_PORT": "443",
                      "CONSOLE_PORT": "tcp://10.0.0.1:443", "CONSOLE_ADMIN_KEY": "not-a-setting"])
    #expect(!many.clean)
    for expected in [
        "CONSOLE_BEAT_RAET: `console all-in-one` has no such setting (did you mean CONSOLE_BEAT_RATE?)",
        "CONSOLE_INTERNAL_PORT: `console all-in-one` has no such setting",
        "--http2-reset-limit: 'many' is not a whole number",
        #""beatRaet": `console all-in-one` has no such setting (did you mean "beatRate"?)"#,
        #""placement": `console all-in-one` has no such setting"#,
        "--leader-lease must be longer than twice --heartbeat-interval",
        "--batch-linger must be 0 or more and less than --commit-timeout",
        "--web-session-lifetime must be at least 1m",
    ] {
        #expect(many.output.contains(expected), "missing: \(expected)\n\(many.output)")
    }
    // Service links and the credentials file's admin key are not settings, and not mistakes.
    #expect(!many.output.contains("CONSOLE_GATEWAY_SERVICE_HOST") && !many.output.contains("CONSOLE_ADMIN_KEY"), "\(many.output)")
    #expect(!many.output.contains("CONSOLE_GATEWAY_PORT_443_TCP_PORT") && !many.output.contains("--port:"), "\(many.output)")
    #expect(many.output.contains("CONSOLE_PORT=tcp://10.0.0.1:443 looks like a Kubernetes service link"), "\(many.output)")
    #expect(!many.output.contains("is ready"))

    // The former name is still read (its bad value is reported as the option's) and warned about.
    let former = try await run(["all-in-one", "--data-dir", directory], environment: ["CONSOLE_HTTP2RESET_LIMIT": "lots"])
    #expect(!former.clean)
    #expect(former.output.contains("CONSOLE_HTTP2RESET_LIMIT is the former name of CONSOLE_HTTP2_RESET_LIMIT"), "\(former.output)")
    #expect(former.output.contains("--http2-reset-limit: 'lots' is not a whole number"), "\(former.output)")

    // A worker takes no gateway limit, and says so before anything starts.
    let worker = try await run(["worker", "--database-url", "postgres://nobody@127.0.0.1:1/none", "--key-rate-limit", "5"])
    #expect(!worker.clean)
    #expect(worker.output.contains("Unknown option '--key-rate-limit'"), "\(worker.output)")
    let workerEnvironment = try await run(
        ["worker", "--database-url", "postgres://nobody@127.0.0.1:1/none"], environment: ["CONSOLE_MAX_SBOM_BYTES": "1GiB"])
    #expect(workerEnvironment.output.contains("CONSOLE_MAX_SBOM_BYTES: `console worker` has no such setting"), "\(workerEnvironment.output)")
}

extension ConsoleProcessTests {
    @Test func allInOneOnAnExternalDatabase() async throws {
        let binary = try Self.binary()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let (url, urlText) = try await Self.newDatabase("external")
        let dataDirectory = "/tmp/console-external-test-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let port = try Self.freePort()
        // As in a container: the password and the token signing key from mounted files, the
        // listening port published as 443.
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let keyFile = dataDirectory + "/token.key", passwordFile = dataDirectory + "/db.password"
        let signingKey = Array("a-signing-key-of-at-least-32-bytes-from-a-Secret".utf8)
        try Data(signingKey + [UInt8(ascii: "\n")]).write(to: URL(fileURLWithPath: keyFile))
        try Data("unused-by-a-trust-server\n".utf8).write(to: URL(fileURLWithPath: passwordFile))
        let short = try ChildProcess(
            executable: binary,
            arguments: ["all-in-one", "--data-dir", dataDirectory, "--port", String(port), "--token-signing-key-file", passwordFile],
            environment: ["CONSOLE_DATABASE_URL": urlText], outputPath: dataDirectory + ".short.log")
        #expect(!ChildProcess.exitedCleanly(await short.wait(timeout: .seconds(60))))
        #expect(short.output.contains("the key needs at least 32"), "\(short.output)")
        // Without CAP_NET_ADMIN, as in a container that drops every capability: a socket option
        // that needs it (SO_DEBUG, once set by mistake for TCP_NODELAY) fails every connection.
        let command = WithoutNetAdmin.command(binary, [
            "all-in-one", "--data-dir", dataDirectory, "--port", String(port), "--advertise-host", "localhost",
            "--advertise-port", "443", "--token-signing-key-file", keyFile, "--database-password-file", passwordFile])
        let process = try ChildProcess(
            executable: command.executable, arguments: command.arguments,
            environment: ["CONSOLE_DATABASE_URL": urlText], outputPath: dataDirectory + ".log")
        defer { process.signal(SIGKILL) }
        #expect(await process.waitForOutput("MGMT_CONSOLE_PORT=443", timeout: .seconds(60)), "\(process.output)")
        // No embedded server was created: the data directory holds only the certificate and the keys.
        #expect(!FileManager.default.fileExists(atPath: dataDirectory + "/postgres"))
        let sensorKey = try #require(Self.bannerValue(process.output, "Sensor API key:"))
        let tls = try TLSMaterial.clientContext(trusting: try String(contentsOfFile: dataDirectory + "/tls/console.crt", encoding: .utf8))
        let connection = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", http2: true)
        let token = try await Self.login(sensorKey, on: connection)
        // The console signs with the key from the file.
        let signer = TokenSigner(key: signingKey)
        #expect((try? signer.verify(Substring(token), kind: .access, now: Timestamp(seconds: Date().timeIntervalSince1970))) != nil, "the token is not signed with the file's key")
        #expect((try? TokenSigner(key: Array(repeating: 7, count: 32)).verify(Substring(token), kind: .access, now: Timestamp(seconds: Date().timeIntervalSince1970))) == nil)
        let report = Gzip.compress(Array(SampleReport.text(hostname: "external-host").utf8))
        #expect(try await connection.postReport(report, token: token).status == .ok)

        // A key created and revoked by `console apikey` (other processes): the running console
        // takes both at once, with no restart and no reload by hand.
        func apikey(_ arguments: [String]) async throws -> String {
            let command = try ChildProcess(executable: binary, arguments: ["apikey"] + arguments,
                                           environment: ["CONSOLE_DATABASE_URL": urlText], outputPath: dataDirectory + ".apikey.log")
            #expect(ChildProcess.exitedCleanly(await command.wait(timeout: .seconds(30))), "\(command.output)")
            return command.output
        }
        let created = try await apikey(["create", "--role", "sensor", "--label", "to-revoke"])
        let match = try #require(created.firstMatch(of: /Created sensor key (\d+): (\S+)/), "\(created)")
        let (keyID, newKey) = (String(match.output.1), String(match.output.2))
        let pair = try json(try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(newKey)"}"#, token: nil))
        let access = try #require(pair["access_token"] as? String)
        let refresh = try #require(pair["refresh_token"] as? String)
        let poll = #"{"node_id":"revoked-host","node_type":"host"}"#
        #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: access).status != .unauthorized)
        _ = try await apikey(["revoke", keyID])
        let revokedAt = ContinuousClock.now
        var refused = false
        while !refused && ContinuousClock.now - revokedAt < .seconds(3) {
            refused = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(newKey)"}"#, token: nil).status == .unauthorized
            if !refused { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(refused, "a revoked key still logs in 3 s after `console apikey revoke`")
        #expect(ContinuousClock.now - revokedAt < .seconds(1), "revocation took \(ContinuousClock.now - revokedAt)")
        #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: access).status == .unauthorized)
        #expect(try await connection.postJSON("/deepfence/auth/token/refresh", "", token: refresh).status == .unauthorized)
        // The console's own key is untouched.
        #expect(try await connection.postReport(report, token: token).status == .ok)
        await connection.close()
        process.signal(SIGTERM)
        #expect(ChildProcess.exitedCleanly(await process.wait(timeout: .seconds(30))), "\(process.output)")

        // The rows are in the external database.
        let database = Database(url: url, maximumConnections: 1, logger: logger)
        let pool = Task { try await database.run() }
        try await database.waitUntilReachable()
        var processes = 0
        for try await count in try await database.client.query("SELECT count(*) FROM processes WHERE node_id = 'external-host'").decode(Int64.self) {
            processes = Int(count)
        }
        pool.cancel()
        #expect(processes == SampleReport.profile.processes)
        try? FileManager.default.removeItem(atPath: dataDirectory + ".log")
    }
}
