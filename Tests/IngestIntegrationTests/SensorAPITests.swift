import Foundation
import IngestAuth
import IngestCompression
import IngestConsole
import IngestCore
import IngestGateway
import IngestTestSupport
import IngestTransport
import NIOCore
import NIOHTTP1
import Testing

/// The token flow and every kind of bad input, over real TLS + HTTP/2 (and HTTP/1.1).
@Suite(.timeLimit(.minutes(3)))
struct SensorAPITests {
    @Test func tokenFlowAndItsFailures() async throws {
        let console = try await TestConsole.start("tokens")
        do {
            let connection = try await console.connect()
            let ping = try await connection.get("/deepfence/ping", token: nil)
            #expect(ping.status == .ok && ping.text == "pong")

            // Login with each accepted key form; failures.
            let tokens = try await console.login(console.sensorKey, on: connection)
            let raw = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(console.sensorKey.canonical)"}"#, token: nil)
            #expect(raw.status == .ok)
            let unknown = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(APIKey.generate().token)"}"#, token: nil)
            #expect(unknown.status == .unauthorized)
            #expect(try json(unknown)["code"] as? String == "invalid_api_key")
            let garbage = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"garbage"}"#, token: nil)
            #expect(garbage.status == .unauthorized)
            let missing = try await connection.postJSON("/deepfence/auth/token", #"{"token":"x"}"#, token: nil)
            #expect(missing.status == .badRequest)
            let notJSON = try await connection.postJSON("/deepfence/auth/token", "api_token=x", token: nil)
            #expect(notJSON.status == .badRequest)
            #expect(try json(notJSON)["code"] as? String == "malformed_json")

            // The access token works; the refresh token is not an access token.
            let poll = #"{"node_id":"h-t","available_workload":1}"#
            let firstPoll = try await connection.postJSON("/deepfence/controls/agent", poll, token: tokens.access)
            #expect(firstPoll.status == .ok, "\(firstPoll.text)")
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: tokens.refresh).status == .unauthorized)
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: nil).status == .unauthorized)
            let forged = tokens.access.dropLast(3) + "AAA"
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: String(forged)).status == .unauthorized)

            // Refresh: with the refresh token, a new pair; with the access token, 401.
            let refreshed = try await connection.request(.POST, "/deepfence/auth/token/refresh", headers: ["authorization": "Bearer \(tokens.refresh)"])
            #expect(refreshed.status == .ok)
            let pair = try json(refreshed)
            #expect(pair["access_token"] as? String != nil && pair["refresh_token"] as? String != nil)
            let wrongKind = try await connection.request(.POST, "/deepfence/auth/token/refresh", headers: ["authorization": "Bearer \(tokens.access)"])
            #expect(wrongKind.status == .unauthorized)

            // 30 minutes later the access token has expired (401, which sensors answer with a refresh).
            console.clock.advance(by: .seconds(30 * 60 + 1))
            let expired = try await connection.postJSON("/deepfence/controls/agent", poll, token: tokens.access)
            #expect(expired.status == .unauthorized)
            #expect(try json(expired)["code"] as? String == "expired_token")
            #expect(expired.headers.first(name: "www-authenticate") == "Bearer")
            let newAccess = try #require(pair["access_token"] as? String)
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: newAccess).status == .unauthorized)
            let again = try await connection.request(.POST, "/deepfence/auth/token/refresh", headers: ["authorization": "Bearer \(tokens.refresh)"])
            #expect(again.status == .ok)

            // A sensor key's token gets 403 on the operator API; an admin key's gets in.
            let fresh = try await console.login(console.sensorKey, on: connection)
            #expect(try await connection.get("/api/v1/nodes", token: fresh.access).status == .forbidden)
            let admin = try await console.login(console.adminKey, on: connection)
            #expect(try await connection.get("/api/v1/nodes", token: admin.access).status == .ok)
            // A route asked with a method it does not take says which it takes (RFC 9110 §15.5.6).
            for (method, path, allowed) in [
                (HTTPMethod.POST, "/api/v1/nodes", "GET"), (.DELETE, "/api/v1/nodes/h", "GET"),
                (.GET, "/api/v1/nodes/h/commands", "POST"), (.GET, "/api/v1/nodes/h/scans", "POST"),
                (.PUT, "/api/v1/scans/s/findings/export", "GET"), (.POST, "/api/v1/cluster", "GET"),
            ] {
                let refused = try await connection.request(method, path, headers: ["authorization": "Bearer \(admin.access)"])
                #expect(refused.status == .methodNotAllowed, "\(method) \(path)")
                #expect(refused.text.contains(#""code":"method_not_allowed""#), "\(method) \(path)")
                #expect(refused.headers.first(name: "allow") == allowed, "\(method) \(path)")
            }
            #expect(try await connection.get("/api/v1/nope", token: admin.access).status == .notFound)

            // A revoked key can no longer log in, and its tokens stop working.
            let keys = try await console.stack.catalog.apiKeys()
            let sensorID = try #require(keys.first { $0.keyHash == console.sensorKey.hash }?.id)
            #expect(try await console.stack.catalog.revokeAPIKey(id: sensorID))
            try await console.stack.authenticator.reload()
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: fresh.access).status == .unauthorized)
            let revokedLogin = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(console.sensorKey.token)"}"#, token: nil)
            #expect(revokedLogin.status == .unauthorized)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test(arguments: HTTPServer.HTTP2Mode.allCases)
    func badInputsGetClearErrorsAndLoseNothing(mode: HTTPServer.HTTP2Mode) async throws {
        let console = try await TestConsole.start("badinput") { configuration in
            configuration.listener.http2Mode = mode
            configuration.gateway.maxBodyBytes = 256 << 10
            configuration.gateway.maxReportBytes = 1 << 20
            configuration.gateway.parserLimits.maxStringBytes = 4096
            configuration.gateway.parserLimits.maxEntities = 500
        }
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            #expect(try await connection.postReport(gzippedReport(hostname: "host-b"), token: token).status == .ok)
            let db = console.database
            let stored = try await rowVersions(db, node: "host-b")

            func expectError(_ response: ClientResponse, _ status: HTTPResponseStatus, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                #expect(response.status == status, sourceLocation: sourceLocation)
                #expect(response.headers.first(name: "content-type") == "application/json", sourceLocation: sourceLocation)
                #expect(try json(response)["code"] as? String == code, sourceLocation: sourceLocation)
            }
            let report = "/deepfence/ingest/report"
            try expectError(try await connection.request(.POST, report, headers: ["content-encoding": "gzip"], body: ByteBuffer(bytes: gzippedReport(hostname: "x"))),
                            .unauthorized, "missing_token")
            try expectError(try await connection.postReport(gzippedReport(hostname: "x"), token: "not.a.token"), .unauthorized, "invalid_token")
            try expectError(try await connection.postReport([0x1F, 0x8B, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], token: token), .badRequest, "malformed_gzip")
            let truncated = Array(gzippedReport(hostname: "x").prefix(4000))
            try expectError(try await connection.postReport(truncated, token: token), .badRequest, "malformed_gzip")
            try expectError(try await connection.postReport(Gzip.compress(Array("{\"Host\": {".utf8)), token: token), .badRequest, "malformed_json")
            try expectError(try await connection.postReport(Gzip.compress(Array("[1,2,3]".utf8)), token: token), .badRequest, "malformed_json")
            try expectError(try await connection.postReport(Gzip.compress(Array(#"{"Process":{}}"#.utf8)), token: token), .badRequest, "invalid_request")
            try expectError(try await connection.request(.POST, report, headers: ["authorization": "Bearer \(token)", "content-encoding": "gzip"],
                                                         body: ByteBuffer(string: "{}")), .badRequest, "malformed_gzip")
            try expectError(try await connection.request(.POST, report, headers: ["authorization": "Bearer \(token)", "content-encoding": "br"],
                                                         body: ByteBuffer(string: "{}")), .unsupportedMediaType, "unsupported_content_encoding")
            // Over the body limit: refused with 413 and the setting to change.
            // Heavy work runs off the cooperative pool, which the suites running in parallel share.
            let big = await blocking { (0..<(300 << 10)).map { _ in UInt8.random(in: 0...255) } }
            let tooBig = try await connection.request(.POST, report, headers: ["authorization": "Bearer \(token)", "content-encoding": "gzip"], body: ByteBuffer(bytes: big))
            try expectError(tooBig, .payloadTooLarge, "body_too_large")
            #expect(try json(tooBig)["setting"] as? String == "--max-body-bytes")
            // A decompression bomb: 64 MiB of zeros in ~64 KiB of gzip stops at the 1 MiB limit.
            let bomb = await blocking { Gzip.compress([UInt8](repeating: 0, count: 64 << 20), level: 9) }
            #expect(bomb.count < 256 << 10)
            let bombed = try await connection.postReport(bomb, token: token)
            try expectError(bombed, .payloadTooLarge, "report_too_large")
            #expect(try json(bombed)["setting"] as? String == "--max-report-bytes")
            // Under the size limit but inflating past --max-compression-ratio (200): 900 KiB of
            // spaces in about 1 KiB.
            let dense = await blocking { Gzip.compress([UInt8](repeating: 0x20, count: 900 << 10), level: 9) }
            let inflated = try await connection.postReport(dense, token: token)
            try expectError(inflated, .payloadTooLarge, "compression_ratio_exceeded")
            #expect(try json(inflated)["setting"] as? String == "--max-compression-ratio")
            // Structure: nesting past --max-json-depth, a string past --max-json-string-bytes, more
            // entities than --max-report-entities; each with its own code.
            func post(_ json: String) async throws -> ClientResponse {
                try await connection.postReport(Gzip.compress(Array(json.utf8)), token: token)
            }
            let deep = try await post(#"{"Host":{"h":{"metadata":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}}}")
            try expectError(deep, .badRequest, "json_too_deep")
            #expect(try json(deep)["setting"] as? String == "--max-json-depth")
            let long = try await post(#"{"Host":{"h":{"metadata":{"host_name":""# + String(repeating: "a", count: 5000) + #""}}}}"#)
            try expectError(long, .badRequest, "json_string_too_long")
            #expect(try json(long)["setting"] as? String == "--max-json-string-bytes")
            let processes = (0..<600).map { #""p\#($0)":{"metadata":{}}"# }.joined(separator: ",")
            let many = try await post(#"{"Host":{"h":{"metadata":{}}},"Process":{\#(processes)}}"#)
            try expectError(many, .badRequest, "report_too_complex")
            #expect(try json(many)["setting"] as? String == "--max-report-entities")
            // Unknown routes and methods.
            try expectError(try await connection.get("/deepfence/nope", token: token), .notFound, "not_found")
            try expectError(try await connection.get("/nope", token: nil), .notFound, "not_found")
            let wrongMethod = try await connection.get(report, token: token)
            try expectError(wrongMethod, .methodNotAllowed, "method_not_allowed")
            #expect(wrongMethod.headers.first(name: "allow") == "POST")
            let pingPost = try await connection.postJSON("/deepfence/ping", "{}", token: nil)
            try expectError(pingPost, .methodNotAllowed, "method_not_allowed")
            #expect(pingPost.headers.first(name: "allow") == "GET, HEAD")
            try expectError(try await connection.postJSON("/deepfence/controls/agent", #"{"available_workload":1}"#, token: token), .badRequest, "invalid_request")
            try expectError(try await connection.postJSON("/deepfence/controls/agent", #"{"node_id":"h","available_workload":"x"}"#, token: token), .badRequest, "invalid_request")

            // The server is up, and what was accepted before is intact.
            #expect(try await connection.get("/deepfence/ping", token: nil).status == .ok)
            let fresh = try await console.connect()
            #expect(try await fresh.get("/deepfence/ping", token: nil).status == .ok)
            #expect(try await rowVersions(db, node: "host-b") == stored)
            #expect(try await db.count("SELECT count(*) FROM nodes") == 1)
            // A large honest report (over 64 KiB of gzip, so decoded off the event loop) is
            // stored whole.
            let large = await blocking { () -> [UInt8] in
                let processes = (0..<450).map { index in
                    let cmdline = (0..<400).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
                    return #""p\#(index)":{"metadata":{"cmdline":"\#(cmdline)"}}"#
                }
                let json = #"{"Host":{"big-host":{"metadata":{"host_name":"big-host"}}},"Process":{\#(processes.joined(separator: ","))}}"#
                return Gzip.compress(Array(json.utf8))
            }
            #expect(large.count > 64 << 10)
            let stored450 = try await connection.postReport(large, token: token)
            #expect(stored450.status == .ok, "\(stored450.text)")
            #expect(try await db.count("SELECT count(*) FROM processes WHERE node_id <> 'host-b'") == 450)
            await fresh.close()
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func http1FallbackServesTheSameAPI() async throws {
        let console = try await TestConsole.start("http1")
        do {
            let connection = try await console.connect(http2: false)
            #expect(!connection.isHTTP2)
            #expect(try await connection.get("/deepfence/ping", token: nil).text == "pong")
            let token = try await console.login(console.sensorKey, on: connection).access
            let response = try await connection.postReport(gzippedReport(hostname: "host-h1"), token: token)
            #expect(response.status == .ok && response.text == #"{"beatrate":30}"#)
            #expect(try await console.database.count("SELECT count(*) FROM processes WHERE node_id = 'host-h1'") == SampleReport.profile.processes)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func gunzipStopsAtTheLimitWithoutGrowing() async throws {
        let bomb = await blocking { Gzip.compress([UInt8](repeating: 0, count: 32 << 20), level: 9) }
        #expect(throws: Gzip.Failure.tooLarge) { try Gzip.decompress(bomb, limit: 1 << 20) }
        #expect(try Gzip.decompress(bomb, limit: 32 << 20).count == 32 << 20)
        #expect(throws: Gzip.Failure.malformed) { try Gzip.decompress(Array(bomb.prefix(100)), limit: 1 << 30) }
    }

    /// The size in the trailer is only a first guess: a body that lies about it (smaller or
    /// larger) is refused as malformed, and one that tells the truth is read to the byte.
    @Test func gunzipReadsTheSizeInTheTrailerAsAGuess() throws {
        let text = Array(String(repeating: #"{"node_id":"host-1;4242","threads":12},"#, count: 5_000).utf8)
        let body = Gzip.compress(text, level: 1)
        #expect(try Gzip.decompress(body, limit: text.count) == text)
        #expect(throws: Gzip.Failure.tooLarge) { try Gzip.decompress(body, limit: text.count - 1) }
        // Bytes after the stream's end are not read.
        #expect(try Gzip.decompress(body + [1, 2, 3], limit: text.count) == text)
        for claimed in [UInt32(10), UInt32(text.count * 4)] {
            var lying = body
            withUnsafeBytes(of: claimed.littleEndian) { lying.replaceSubrange(lying.count - 4..<lying.count, with: $0) }
            #expect(throws: Gzip.Failure.malformed) { try Gzip.decompress(lying, limit: 1 << 24) }
        }
        var flipped = body
        flipped[flipped.count / 2] ^= 0x10
        #expect(throws: Gzip.Failure.malformed) { try Gzip.decompress(flipped, limit: 1 << 24) }
        #expect(throws: Gzip.Failure.malformed) { try Gzip.decompress(Array(text.prefix(100)), limit: 1 << 24) }
    }
}

@Suite(.timeLimit(.minutes(2)))
struct IdleConnectionTests {
    @Test(arguments: [(HTTPServer.HTTP2Mode.frames, true), (.multiplexed, true), (.frames, false)])
    func idleConnectionsAreClosed(mode: HTTPServer.HTTP2Mode, http2: Bool) async throws {
        let console = try await TestConsole.start("idle") { configuration in
            configuration.listener.http2Mode = mode
            // Long enough that the busy connection survives a loaded machine (the suites run in
            // parallel on 2 cores, and a stall of 2 s between two pings was seen).
            configuration.listener.idleTimeout = .seconds(4)
        }
        do {
            let busy = try await console.connect(http2: http2)
            let quiet = try await console.connect(http2: http2)
            #expect(try await quiet.get("/deepfence/ping", token: nil).status == .ok)
            // One connection keeps talking, the other says nothing for 7.5 s.
            for _ in 0..<30 {
                #expect(try await busy.get("/deepfence/ping", token: nil).status == .ok)
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(busy.isActive)
            #expect(!quiet.isActive)
            await busy.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }
}
