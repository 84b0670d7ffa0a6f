import Foundation
import IngestCompression
import IngestCore
import IngestGateway
import IngestTestSupport
import IngestTransport
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// The web console over real TLS and HTTP/2 (the browser test drives it in chromium; these
/// check the same rules without one): who can sign in, forms without the session's token, the
/// headers of every page, and hostile names served as text.
@Suite(.timeLimit(.minutes(3)))
struct WebConsoleTests {
    @Test func onlyAnAdminKeySignsInAndFormsNeedTheSessionsToken() async throws {
        try await TestConsole.with("web-sign-in") { console in
            let connection = try await console.connect()
            let root = try await connection.request(.GET, "/")
            #expect(root.status == .seeOther && root.headers.first(name: "location") == "/console/")
            let signedOut = try await connection.request(.GET, "/console/nodes")
            #expect(signedOut.status == .seeOther && signedOut.headers.first(name: "location") == "/console/sign-in")

            await #expect(throws: WebSignIn.Failed.self) { try await WebSignIn.session(on: connection, key: console.sensorKey.token) }
            // A form posted without the sign-in page's cookie (from another site, say) is refused.
            let forged = try await connection.request(
                .POST, "/console/sign-in", headers: ["content-type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=x&key=\(console.adminKey.token)"))
            #expect(forged.status == .forbidden && forged.headers["set-cookie"].allSatisfy { !$0.hasPrefix("__Host-console_session=") })

            let session = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            let keys = try await connection.request(.GET, "/console/keys", headers: ["cookie": session])
            #expect(keys.status == .ok)
            let policy = keys.headers.first(name: "content-security-policy") ?? ""
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && !policy.contains("unsafe"))
            #expect(keys.headers.first(name: "x-frame-options") == "DENY" && keys.headers.first(name: "cache-control") == "no-store")

            let before = try await console.stack.catalog.apiKeys().count
            for body in ["role=admin&label=forged", "role=admin&label=forged&csrf=not-the-token"] {
                let refused = try await connection.request(
                    .POST, "/console/keys/create", headers: ["cookie": session, "content-type": "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: body))
                #expect(refused.status == .forbidden)
            }
            #expect(try await console.stack.catalog.apiKeys().count == before)

            let csrf = try #require(WebSignIn.formToken(in: keys.text))
            let created = try await connection.request(
                .POST, "/console/keys/create", headers: ["cookie": session, "content-type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "role=sensor&label=made+on+the+page&csrf=\(csrf)"))
            #expect(created.status == .ok && created.text.contains(#"id="new-key""#))
            #expect(try await console.stack.catalog.apiKeys().count == before + 1)

            let out = try await connection.request(
                .POST, "/console/sign-out", headers: ["cookie": session, "content-type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=\(csrf)"))
            #expect(out.status == .seeOther && out.headers["set-cookie"].contains { $0.hasPrefix("__Host-console_session=;") && $0.contains("Max-Age=0") })
        }
    }

    @Test func aSignedOutSessionIsRefusedOnEveryGatewayEvenFromACopyOfItsCookie() async throws {
        try await TestConsole.with("web-sign-out") { console in
            // Another gateway's authenticator on the same catalog, listening as a gateway does.
            let logger = Logger(label: "test-other-gateway")
            let other = Authenticator(signer: console.stack.authenticator.signer, catalog: console.stack.catalog, logger: logger)
            try await other.reload()
            let listening = Task { try await other.listener(database: console.database.database, logger: logger).run() }
            defer { listening.cancel() }

            let connection = try await console.connect()
            let session = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            let page = try await connection.request(.GET, "/console/keys", headers: ["cookie": session])
            #expect(page.status == .ok)
            let csrf = try #require(WebSignIn.formToken(in: page.text))
            let id = String(try #require(session.dropFirst("__Host-console_session=".count).split(separator: "~").first))
            #expect(!other.isEnded(sessionID: id))

            let out = try await connection.request(
                .POST, "/console/sign-out", headers: ["cookie": session, "content-type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=\(csrf)"))
            #expect(out.status == .seeOther && out.headers.first(name: "location") == "/console/sign-in")
            #expect(out.headers["set-cookie"].contains { $0.hasPrefix("__Host-console_session=;") && $0.contains("Max-Age=0") })
            // The cookie as it was (a copy kept elsewhere, its token still live) signs nothing in
            // on this gateway, at once: not a page, not a form, not the API pass-through.
            let replayed = try await connection.request(.GET, "/console/keys", headers: ["cookie": session])
            #expect(replayed.status == .seeOther && replayed.headers.first(name: "location") == "/console/sign-in")
            let form = try await connection.request(
                .POST, "/console/keys/create", headers: ["cookie": session, "content-type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "role=admin&label=after+sign-out&csrf=\(csrf)"))
            #expect(form.status == .unauthorized)
            #expect(try await connection.request(.GET, "/console/api/v1/nodes", headers: ["cookie": session]).status == .seeOther)
            // Nor past half its token's life, when a live session would be renewed.
            console.clock.advance(by: .seconds(16 * 60))
            #expect(try await connection.request(.GET, "/console/cluster", headers: ["cookie": session]).status == .seeOther)

            // The other gateway hears of it from the catalog's notification.
            let deadline = ContinuousClock.now + .seconds(10)
            while !other.isEnded(sessionID: id) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(other.isEnded(sessionID: id))
            // A gateway started afterwards reads it from the catalog.
            let later = Authenticator(signer: console.stack.authenticator.signer, catalog: console.stack.catalog, logger: logger)
            try await later.reload()
            #expect(later.isEnded(sessionID: id))
            // The key itself and a new session of it are untouched.
            let again = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            #expect(again != session)
            #expect(try await connection.request(.GET, "/console/keys", headers: ["cookie": again]).status == .ok)
        }
    }

    @Test func aSessionPastItsKeysRateIsToldSoAndStaysSignedIn() async throws {
        try await TestConsole.with("web-rate", configure: { $0.gateway.keyRateLimit = 2; $0.gateway.keyRateBurst = 2 }) { console in
            let connection = try await console.connect()
            // The sign-in takes one of the admin key's two requests, the first page the other.
            let session = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            #expect(try await connection.request(.GET, "/console/keys", headers: ["cookie": session]).status == .ok)
            for path in ["/console/keys", "/console/cluster?fragment=1"] {
                let refused = try await connection.request(.GET, path, headers: ["cookie": session])
                #expect(refused.status == .tooManyRequests && refused.headers.first(name: "retry-after") == "1", "\(path)")
                #expect(refused.headers.first(name: "location") == nil && refused.headers["set-cookie"].isEmpty, "\(path)")
                #expect(refused.text.contains("requests per second for this API key"), "\(path)")
            }
            // A second later the same cookie is served again: the session was never ended.
            console.clock.advance(by: .seconds(1))
            #expect(try await connection.request(.GET, "/console/keys", headers: ["cookie": session]).status == .ok)
        }
    }

    @Test func aRenewedSessionKeepsTheFormsOfItsPagesWorking() async throws {
        try await TestConsole.with("web-renewal") { console in
            let connection = try await console.connect()
            let session = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            let page = try await connection.request(.GET, "/console/keys", headers: ["cookie": session])
            let csrf = try #require(WebSignIn.formToken(in: page.text))
            #expect(page.headers["set-cookie"].isEmpty)
            // Past half the access token's life, a page renews the cookie.
            console.clock.advance(by: .seconds(16 * 60))
            let renewing = try await connection.request(.GET, "/console/cluster", headers: ["cookie": session])
            let renewed = try #require(renewing.headers["set-cookie"].first { $0.hasPrefix("__Host-console_session=") })
            let cookie = String(renewed.split(separator: ";")[0])
            #expect(cookie != session && cookie.split(separator: "~").first == session.split(separator: "~").first)
            // The form from before the renewal still works with the renewed cookie.
            let created = try await connection.request(
                .POST, "/console/keys/create", headers: ["cookie": cookie, "content-type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "role=sensor&label=after+renewal&csrf=\(csrf)"))
            #expect(created.status == .ok && created.text.contains(#"id="new-key""#))
            // Past the old token's life, only the renewed cookie signs in.
            console.clock.advance(by: .seconds(16 * 60))
            #expect(try await connection.request(.GET, "/console/keys", headers: ["cookie": session]).status == .seeOther)
            #expect(try await connection.request(.GET, "/console/keys", headers: ["cookie": cookie]).status == .ok)
        }
    }

    @Test func aSessionEndsItsLifetimeAfterSignInHoweverOftenItIsRenewed() async throws {
        try await TestConsole.with("web-lifetime", configure: { $0.tokens.webSessionLifetime = .seconds(40 * 60) }) { console in
            let connection = try await console.connect()
            let signedIn = console.clock.now().milliseconds / 1000
            let first = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            // Renewed past half each token's life (30 min), at 16 and 32 minutes; the renewed
            // cookie's Max-Age never runs past the session's end (40 min).
            var cookie = first
            for (minute, maxAge) in [(16, 24 * 60), (32, 8 * 60)] {
                console.clock.advance(by: .seconds(16 * 60))
                let page = try await connection.request(.GET, "/console/keys", headers: ["cookie": cookie])
                #expect(page.status == .ok, "minute \(minute)")
                let renewed = try #require(page.headers["set-cookie"].first { $0.hasPrefix("__Host-console_session=") }, "minute \(minute)")
                #expect(renewed.contains("Max-Age=\(maxAge);"), "minute \(minute): \(renewed)")
                cookie = String(renewed.split(separator: ";")[0])
                let token = try #require(cookie.split(separator: "~").last)
                let claims = try console.stack.authenticator.signer.verify(token, kind: .access, now: console.clock.now())
                #expect(claims.authTime == signedIn, "minute \(minute)")
            }
            // At 41 minutes the last token (issued at 32) still lives, but the session does not.
            console.clock.advance(by: .seconds(9 * 60))
            let ended = try await connection.request(.GET, "/console/keys", headers: ["cookie": cookie])
            #expect(ended.status == .seeOther && ended.headers.first(name: "location") == "/console/sign-in")
            // Signing in again starts a new session.
            let again = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            #expect(try await connection.request(.GET, "/console/keys", headers: ["cookie": again]).status == .ok)
        }
    }

    @Test func hostileNamesAreServedAsText() async throws {
        try await TestConsole.with("web-hostile") { console in
            let connection = try await console.connect()
            let sensor = try await console.login(console.sensorKey, on: connection).access
            let node = #"x"><script>alert(1)</script>"#
            let quoted = JSONText.quoted(node)
            let report = #"{"ID":"h1","Host":{\#(quoted):{"metadata":{"node_id":\#(quoted),"node_type":"host","host_name":\#(quoted),"os":"<img src=x onerror=alert(2)>"}}},"# +
                #""Process":{"p;1":{"metadata":{"node_id":"p;1","pid":1,"cmdline":"<a href=\"javascript:alert(3)\">x</a>"},"parents":{"host":\#(quoted)}}}}"#
            #expect(try await connection.postReport(Gzip.compress(Array(report.utf8)), token: sensor).status == .ok)
            let session = try await WebSignIn.session(on: connection, key: console.adminKey.token)
            let id = node.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(try await connection.request(.GET, "/console/nodes?q=a%00b", headers: ["cookie": session]).status == .badRequest)
            for path in ["/console/node?id=\(id)", "/console/nodes", "/console/"] {
                let page = try await connection.request(.GET, path, headers: ["cookie": session])
                #expect(page.status == .ok, "\(path)")
                #expect(!page.text.contains("<script>alert") && !page.text.contains("<img src=x") && !page.text.contains("href=\"javascript"), "\(path)")
                #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path)")
            }
        }
    }
}
