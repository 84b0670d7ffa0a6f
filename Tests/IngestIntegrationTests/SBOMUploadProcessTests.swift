import Foundation
import IngestCore
import IngestStorage
import IngestTestSupport
import IngestTransport
import LoadTestRunner
import Logging
import Testing

/// A 500 MB SBOM upload to a real `console all-in-one` process over TLS + HTTP/2 (curl), with
/// the console's resident memory sampled throughout: the upload is streamed to disk, decoded
/// and stored in parts, so the console grows by less than 64 MiB however large the upload.
@Suite(.timeLimit(.minutes(10)))
struct SBOMUploadProcessTests {
    /// Resident and peak resident bytes of a process (`VmRSS`, `VmHWM`).
    static func memory(of pid: pid_t) -> (rss: Int, peak: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func kilobytes(_ field: String) -> Int? {
            status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
                .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Int($0) }
        }
        guard let rss = kilobytes("VmRSS"), let peak = kilobytes("VmHWM") else { return nil }
        return (rss << 10, peak << 10)
    }

    @Test func aFiveHundredMegabyteUploadGrowsTheConsoleByLessThan64MiB() async throws {
        let binary = try ClusterHarness.binary()
        let database = try await ConsoleProcessTests.newDatabase("sbom")
        let directory = "/tmp/console-sbom-test-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let console = try ChildProcess(
            executable: binary, arguments: ["all-in-one", "--data-dir", directory + "/data", "--port", "0", "--log-level", "warning"],
            environment: ["CONSOLE_DATABASE_URL": database.text],
            outputPath: directory + "/console.log")
        defer { console.signal(SIGKILL) }
        #expect(await console.waitForOutput("Admin API key:", timeout: .seconds(60)), "\(console.output)")
        // The console picks its port (--port 0) and names it in the banner: no race for a free one.
        let port = try #require(ConsoleProcessTests.boundPort(console.output))
        let sensorKey = try #require(ConsoleProcessTests.bannerValue(console.output, "Sensor API key:"))
        let adminKey = try #require(ConsoleProcessTests.bannerValue(console.output, "Admin API key:"))
        let tls = try TLSMaterial.clientContext(trusting: try String(contentsOfFile: directory + "/data/tls/console.crt", encoding: .utf8))
        let connection = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", http2: true)
        let token = try await ConsoleProcessTests.login(sensorKey, on: connection)
        let admin = try await ConsoleProcessTests.login(adminKey, on: connection)

        // The body: {"scan_id", "node_id", "image_name", "sbom": base64(gzip(SBOM))}, 500 MB,
        // written by Python's zlib and base64 in pieces (the test process stays small too).
        let scan = ScanID.make(nodeID: "big-host", at: Timestamp(seconds: Date().timeIntervalSince1970))
        let body = directory + "/upload.json"
        let generator = try ChildProcess(executable: "/usr/bin/env", arguments: ["python3", "-c", """
            import base64, json, sys, zlib
            out = open(sys.argv[1], "wb")
            out.write(('{"scan_id": %s, "node_id": "big-host", "image_name": "big:1", "sbom": "' % json.dumps(sys.argv[2])).encode())
            gzip = zlib.compressobj(0, zlib.DEFLATED, 31)
            pending = b""
            def emit(data):
                global pending
                pending += data
                cut = len(pending) - len(pending) % 3
                out.write(base64.b64encode(pending[:cut]))
                pending = pending[cut:]
            line = b'{"type":"library","name":"pkg-%08d","version":"1.2.3","purl":"pkg:deb/debian/pkg@1.2.3"},'
            for block in range(375):
                emit(gzip.compress(b"".join(line % (block * 10000 + i) for i in range(11000))[:1000000]))
            emit(gzip.flush())
            out.write(base64.b64encode(pending) + b'"}')
            out.close()
            """, body, scan], outputPath: directory + "/generator.log")
        #expect(ChildProcess.exitedCleanly(await generator.wait(timeout: .seconds(120))), "\(generator.output)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: body)[.size] as? Int)
        #expect(size > 500_000_000, "the upload is \(size) bytes")

        let before = try #require(Self.memory(of: console.pid))
        let upload = try ChildProcess(executable: "/usr/bin/env", arguments: [
            "curl", "-sS", "--http2", "--cacert", directory + "/data/tls/console.crt", "--resolve", "localhost:\(port):127.0.0.1",
            "-X", "POST", "-H", "authorization: Bearer \(token)", "-H", "content-type: application/json", "-T", body,
            "-w", "\\nstatus=%{http_code} version=%{http_version}", "https://localhost:\(port)/deepfence/ingest/sbom",
        ], outputPath: directory + "/curl.log")
        var highest = before.rss
        var status: Int32?
        let started = ContinuousClock.now
        repeat {
            status = await upload.wait(timeout: .milliseconds(100))
            if let now = Self.memory(of: console.pid) { highest = max(highest, now.rss, now.peak) }
        } while status == nil && ContinuousClock.now - started < .seconds(400)
        let seconds = (ContinuousClock.now - started).seconds
        #expect(ChildProcess.exitedCleanly(status), "\(upload.output)")
        #expect(upload.output.contains("status=200 version=2"), "\(upload.output)")
        let growth = highest - before.rss
        print("SBOM upload of \(size) bytes in \(String(format: "%.1f", seconds)) s: console RSS \(before.rss >> 20) MiB before, highest \(highest >> 20) MiB, growth \(growth >> 20) MiB")
        #expect(growth < 64 << 20, "the console grew by \(growth >> 20) MiB during the upload")

        let row = try json(try await connection.get("/api/v1/scans/\(scan)/sbom", token: admin))
        let bytes = try #require(row["bytes"] as? Int)
        #expect(bytes > 370_000_000)
        #expect(row["parts"] as? Int == (bytes + (1 << 20) - 1) >> 20)
        #expect(row["inflated_bytes"] as? Int == 375_000_000)
        // Nothing is left in the upload directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/data/uploads").isEmpty)
        await connection.close()
    }

    /// The disk uploads hold is bounded: an upload that does not fit beside those on disk is
    /// refused from its request head (503, Retry-After) and one over the size limit with 413,
    /// neither writing a byte; once the first upload is stored, the next one fits.
    @Test func uploadsThatDoNotFitTheSpoolAreRefusedBeforeAByteIsWritten() async throws {
        let binary = try ClusterHarness.binary()
        let database = try await ConsoleProcessTests.newDatabase("spool")
        let directory = "/tmp/console-spool-test-\(UInt32.random(in: 0...UInt32.max))"
        let uploads = directory + "/uploads"
        try FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Room for one upload of 1 MB and its decoded SBOM (1.75 MB), not two.
        let console = try ChildProcess(
            executable: binary, arguments: [
                "all-in-one", "--data-dir", directory + "/data", "--port", "0", "--log-level", "warning",
                "--upload-dir", uploads, "--max-sbom-bytes", "1MiB", "--max-spool-bytes", "3MiB",
            ],
            environment: ["CONSOLE_DATABASE_URL": database.text],
            outputPath: directory + "/console.log")
        defer { console.signal(SIGKILL) }
        #expect(await console.waitForOutput("Admin API key:", timeout: .seconds(60)), "\(console.output)")
        // The console picks its port (--port 0) and names it in the banner: no race for a free one.
        let port = try #require(ConsoleProcessTests.boundPort(console.output))
        let sensorKey = try #require(ConsoleProcessTests.bannerValue(console.output, "Sensor API key:"))
        let tls = try TLSMaterial.clientContext(trusting: try String(contentsOfFile: directory + "/data/tls/console.crt", encoding: .utf8))
        let connection = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", http2: true)
        let token = try await ConsoleProcessTests.login(sensorKey, on: connection)
        await connection.close()

        // Upload bodies of about `bytes`: base64 of a gzipped SBOM of incompressible bytes.
        func body(_ node: String, bytes: Int) async throws -> String {
            let path = "\(directory)/\(node).json"
            let scan = ScanID.make(nodeID: node, at: Timestamp(seconds: Date().timeIntervalSince1970))
            let generator = try ChildProcess(executable: "/usr/bin/env", arguments: ["python3", "-c", """
                import base64, gzip, json, os, sys
                sbom = gzip.compress(os.urandom(int(sys.argv[4]) * 3 // 4 - 200), 0)
                open(sys.argv[1], "w").write(json.dumps({"scan_id": sys.argv[2], "node_id": sys.argv[3], "image_name": "x:1",
                                                         "sbom": base64.b64encode(sbom).decode()}))
                """, path, scan, node, String(bytes)], outputPath: path + ".log")
            #expect(ChildProcess.exitedCleanly(await generator.wait(timeout: .seconds(30))), "\(generator.output)")
            return path
        }
        func upload(_ path: String, rate: String? = nil) throws -> ChildProcess {
            try ChildProcess(executable: "/usr/bin/env", arguments: [
                "curl", "-sS", "--http2", "--cacert", directory + "/data/tls/console.crt", "--resolve", "localhost:\(port):127.0.0.1",
                "-X", "POST", "-H", "authorization: Bearer \(token)", "-H", "content-type: application/json", "-T", path, "-D", "-",
            ] + (rate.map { ["--limit-rate", $0] } ?? []) + [
                "-w", "\\nstatus=%{http_code}", "https://localhost:\(port)/deepfence/ingest/sbom",
            ], outputPath: path + ".curl-\(UInt32.random(in: 0...UInt32.max)).log")
        }
        func spoolFiles() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: uploads) }

        // Over --max-sbom-bytes: 413 from the head, nothing spooled.
        let large = try upload(try await body("spool-large", bytes: 1_200_000))
        #expect(ChildProcess.exitedCleanly(await large.wait(timeout: .seconds(30))), "\(large.output)")
        #expect(large.output.contains("status=413"), "\(large.output)")
        #expect(try spoolFiles().isEmpty)

        // A slow upload holds 1.75 MB of the 3 MiB while it arrives.
        let slow = try upload(try await body("spool-a", bytes: 1_000_000), rate: "100k")
        let started = ContinuousClock.now
        while try spoolFiles().isEmpty && ContinuousClock.now - started < .seconds(10) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try spoolFiles().count == 1)

        // A second one does not fit beside it: 503 with Retry-After, and no file of its own.
        let second = try await body("spool-b", bytes: 1_000_000)
        let refused = try upload(second)
        #expect(ChildProcess.exitedCleanly(await refused.wait(timeout: .seconds(30))), "\(refused.output)")
        #expect(refused.output.contains("status=503"), "\(refused.output)")
        #expect(refused.output.lowercased().contains("retry-after: 30"), "\(refused.output)")
        #expect(refused.output.contains("--max-spool-bytes"), "\(refused.output)")
        #expect(try spoolFiles().count <= 1)

        // The slow one is stored; its room is given back and the second now fits.
        #expect(ChildProcess.exitedCleanly(await slow.wait(timeout: .seconds(60))), "\(slow.output)")
        #expect(slow.output.contains("status=200"), "\(slow.output)")
        let retried = try upload(second)
        #expect(ChildProcess.exitedCleanly(await retried.wait(timeout: .seconds(30))), "\(retried.output)")
        #expect(retried.output.contains("status=200"), "\(retried.output)")
        #expect(try spoolFiles().isEmpty)
    }
}
