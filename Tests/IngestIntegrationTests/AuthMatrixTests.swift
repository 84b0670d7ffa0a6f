import Foundation
import IngestAuth
import IngestCore
import IngestTestSupport
import IngestTransport
import NIOCore
import NIOHTTP1
import Testing

/// Every route × every kind of credential, over real TLS + HTTP/2 against a running console:
/// who gets in, and with which status and error code everyone else is turned away.
@Suite(.timeLimit(.minutes(3)))
struct AuthMatrixTests {
    enum Credential: String, CaseIterable {
        case missing, garbage, algNone, expired, wrongSignature
        /// A refresh token where an access token belongs (and an access token on the refresh route).
        case wrongKind
        case sensorKey, adminKey, revokedKey
    }

    enum Guard { case open, access, refresh, admin }

    struct Route: CustomStringConvertible {
        let method: HTTPMethod
        let path: String
        let body: String?
        let gzipReport: Bool
        let guarded: Guard
        /// The status a credential that gets in is answered with.
        let admitted: HTTPResponseStatus
        var description: String { "\(method) \(path)" }

        init(_ method: HTTPMethod, _ path: String, _ guarded: Guard, body: String? = nil, gzipReport: Bool = false,
             admitted: HTTPResponseStatus = .ok) {
            self.method = method
            self.path = path
            self.body = body
            self.gzipReport = gzipReport
            self.guarded = guarded
            self.admitted = admitted
        }
    }

    static let routes: [Route] = [
        Route(.GET, "/deepfence/ping", .open),
        Route(.POST, "/deepfence/ingest/report", .access, gzipReport: true),
        Route(.POST, "/deepfence/controls/agent-init", .access,
              body: #"{"node_id":"matrix-host","available_workload":1,"node_type":"host","version":"v2"}"#),
        Route(.POST, "/deepfence/controls/agent", .access, body: #"{"node_id":"matrix-host","available_workload":0}"#),
        Route(.POST, "/deepfence/controls/kubernetes-cluster", .access, body: #"{"node_id":"matrix-cluster","available_workload":0}"#),
        Route(.POST, "/deepfence/controls/cloud-node", .access, body: #"{"cloud_provider":"aws","compliance_type":"cis"}"#),
        Route(.POST, "/deepfence/ingest/vulnerabilities", .access, body: #"[{"scan_id":"matrix-host-1","cve_id":"CVE-1"}]"#),
        Route(.POST, "/deepfence/ingest/secret-scan-logs", .access, body: #"[{"scan_id":"matrix-host-2","scan_status":"IN_PROGRESS"}]"#),
        Route(.POST, "/deepfence/auth/token/refresh", .refresh),
        Route(.GET, "/api/v1/nodes", .admin),
        Route(.GET, "/api/v1/nodes/matrix-host", .admin),
        Route(.POST, "/api/v1/nodes/matrix-host/commands", .admin, body: #"{"action":"SendAgentDiagnosticLogs"}"#, admitted: .created),
        Route(.GET, "/api/v1/cluster", .admin),
        Route(.GET, "/api/v1/scans", .admin),
        Route(.GET, "/api/v1/nodes/matrix-host/findings/counts", .admin),
        Route(.GET, "/api/v1/nodes/matrix-host/findings/export?kind=secret", .admin),
    ]

    /// What a route answers a credential: the admitted status, or an error status and code.
    static func expected(_ route: Route, _ credential: Credential) -> (HTTPResponseStatus, String?) {
        let admitted = (route.admitted, String?.none)
        switch (route.guarded, credential) {
        case (.open, _): return admitted
        case (_, .missing): return (.unauthorized, "missing_token")
        case (_, .expired): return (.unauthorized, "expired_token")
        case (_, .garbage), (_, .algNone), (_, .wrongSignature), (_, .wrongKind), (_, .revokedKey):
            return (.unauthorized, "invalid_token")
        // Upstream sensors are deployed with a user's key, admins' included: both may stream.
        case (.access, .sensorKey), (.access, .adminKey), (.refresh, .sensorKey), (.refresh, .adminKey): return admitted
        case (.admin, .sensorKey): return (.forbidden, "forbidden")
        case (.admin, .adminKey): return admitted
        }
    }

    struct Tokens {
        var access: String
        var refresh: String
    }

    @Test func everyRouteTurnsAwayEveryCredentialThatDoesNotBelong() async throws {
        try await TestConsole.with("auth-matrix") { console in
            let connection = try await console.connect()
            let catalog = console.stack.catalog
            let old = try await console.login(console.adminKey, on: connection)
            // 26 hours on: both tokens of that pair have expired.
            console.clock.advance(by: .seconds(26 * 3600 + 60))
            // Keys to revoke: one sensor, one admin, logged in before they are revoked.
            let revokedSensor = APIKey.generate()
            let revokedAdmin = APIKey.generate()
            let revokedIDs = [
                try await catalog.insertAPIKey(role: "sensor", namespace: revokedSensor.namespace, keyHash: revokedSensor.hash, label: "matrix"),
                try await catalog.insertAPIKey(role: "admin", namespace: revokedAdmin.namespace, keyHash: revokedAdmin.hash, label: "matrix"),
            ]
            let revokedTokens = [
                Guard.access: try await console.login(revokedSensor, on: connection),
                .refresh: try await console.login(revokedSensor, on: connection),
                .admin: try await console.login(revokedAdmin, on: connection),
            ]
            for id in revokedIDs { #expect(try await catalog.revokeAPIKey(id: id)) }

            let sensor = try await console.login(console.sensorKey, on: connection)
            let admin = try await console.login(console.adminKey, on: connection)
            let keyIDs = try await catalog.apiKeys()
            let adminID = try #require(keyIDs.first { $0.keyHash == console.adminKey.hash }?.id)
            // Signed with another key, or not signed at all, claiming to be the admin key.
            let forged = TokenSigner(key: (0..<32).map { _ in UInt8.random(in: 0...255) })
                .issue(keyID: adminID, role: .admin, namespace: console.adminKey.namespace, now: console.clock.now())
            let unsigned = Self.unsignedToken(keyID: adminID, now: console.clock.now())

            // Revocation reaches the gateway by itself (no reload by hand): wait for it.
            let probe = Self.routes[3]
            var revokedStatus = HTTPResponseStatus.ok
            for _ in 0..<100 where revokedStatus != .unauthorized {
                revokedStatus = try await Self.send(probe, bearer: revokedTokens[.access]!.access, on: connection, hostname: "probe").status
                if revokedStatus != .unauthorized { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(revokedStatus == .unauthorized, "a revoked key's token still works after 5 s")

            // The node the operator routes name exists.
            #expect(try await connection.postReport(gzippedReport(hostname: "matrix-host"), token: sensor.access).status == .ok)

            var failures: [String] = []
            for route in Self.routes {
                for credential in Credential.allCases {
                    let bearer: String? =
                        switch credential {
                        case .missing: nil
                        case .garbage: "not-a-token"
                        case .algNone: unsigned
                        case .expired: route.guarded == .refresh ? old.refresh : old.access
                        case .wrongSignature: route.guarded == .refresh ? forged.refresh : forged.access
                        case .wrongKind: route.guarded == .refresh ? sensor.access : sensor.refresh
                        case .sensorKey: route.guarded == .refresh ? sensor.refresh : sensor.access
                        case .adminKey: route.guarded == .refresh ? admin.refresh : admin.access
                        case .revokedKey:
                            route.guarded == .refresh ? revokedTokens[.refresh]!.refresh
                                : route.guarded == .admin ? revokedTokens[.admin]!.access : revokedTokens[.access]!.access
                        }
                    let response = try await Self.send(route, bearer: bearer, on: connection, hostname: "matrix-\(credential)")
                    let (status, code) = Self.expected(route, credential)
                    let gotCode = response.status == .ok || response.status == .created ? nil : (try? json(response))?["code"] as? String
                    if response.status != status || (code != nil && gotCode != code) {
                        failures.append("\(route) as \(credential): \(response.status.code) \(gotCode ?? "") (expected \(status.code) \(code ?? ""))")
                    }
                    if status == .unauthorized && response.headers.first(name: "www-authenticate") != "Bearer" {
                        failures.append("\(route) as \(credential): 401 without www-authenticate")
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")

            // Logging in: an API key in the body, never a bearer.
            for (token, status, code) in [
                (console.sensorKey.token, HTTPResponseStatus.ok, nil), (console.adminKey.token, .ok, nil),
                (revokedSensor.token, .unauthorized, "invalid_api_key"), (revokedAdmin.token, .unauthorized, "invalid_api_key"),
                (APIKey.generate().token, .unauthorized, "invalid_api_key"), ("garbage", .unauthorized, "invalid_api_key"),
                // A bearer token is no API key (and longer than one may be).
                (sensor.access, .badRequest, "invalid_request"),
            ] as [(String, HTTPResponseStatus, String?)] {
                let response = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(token)"}"#, token: nil)
                #expect(response.status == status, "login with \(token.prefix(12)): \(response.text)")
                if let code { #expect(try json(response)["code"] as? String == code) }
            }
            await connection.close()
        }
    }

    @Test func aKeyOverItsRequestRateGets429UntilItsTokensRefill() async throws {
        try await TestConsole.with("auth-rate", configure: { configuration in
            configuration.gateway.keyRateLimit = 5
            configuration.gateway.keyRateBurst = 5
        }) { console in
            let connection = try await console.connect()
            // Logging in takes one (and the console's clock stands still here: nothing refills).
            let sensor = try await console.login(console.sensorKey, on: connection)
            let poll = #"{"node_id":"rate-host","available_workload":0}"#
            var statuses: [UInt] = []
            for _ in 0..<6 {
                statuses.append(try await connection.postJSON("/deepfence/controls/agent", poll, token: sensor.access).status.code)
            }
            #expect(statuses == [200, 200, 200, 200, 429, 429], "\(statuses)")
            let limited = try await connection.postJSON("/deepfence/controls/agent", poll, token: sensor.access)
            #expect(try json(limited)["code"] as? String == "rate_limited")
            #expect(try json(limited)["setting"] as? String == "--key-rate-limit")
            #expect(limited.headers.first(name: "retry-after") == "1")
            // Another key has its own budget.
            let admin = try await console.login(console.adminKey, on: connection)
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: admin.access).status == .ok)
            // A second later the key may go on.
            console.clock.advance(by: .seconds(1))
            #expect(try await connection.postJSON("/deepfence/controls/agent", poll, token: sensor.access).status == .ok)
            await connection.close()
        }
    }

    static func send(_ route: Route, bearer: String?, on connection: HTTPClientConnection, hostname: String) async throws -> ClientResponse {
        var headers: HTTPHeaders = [:]
        if let bearer { headers.add(name: "authorization", value: "Bearer \(bearer)") }
        var body: ByteBuffer?
        if route.gzipReport {
            headers.add(name: "content-encoding", value: "gzip")
            body = ByteBuffer(bytes: gzippedReport(hostname: hostname))
        } else if let text = route.body {
            headers.add(name: "content-type", value: "application/json")
            body = ByteBuffer(string: text)
        }
        return try await connection.request(route.method, route.path, headers: headers, body: body)
    }

    /// A token with `alg: none` and no signature, claiming an admin key.
    static func unsignedToken(keyID: Int64, now: Timestamp) -> String {
        func encode(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let seconds = now.milliseconds / 1000
        let claims = #"{"id":\#(keyID),"user_id":\#(keyID),"role":"admin","grant_type":"api_token","namespace":"default","is_active":true,"iat":\#(seconds),"exp":\#(seconds + 600)}"#
        return encode(#"{"alg":"none","typ":"JWT"}"#) + "." + encode(claims) + "."
    }
}
