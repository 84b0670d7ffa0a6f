import Crypto
import Foundation
import IngestAuth
import IngestCore
import IngestTransport
import NIOCore
import NIOHTTP1

/// Signing in and out, the session cookie, and the headers every page carries.
extension WebConsole {
    /// A signed-in operator: a random session ID fixed at sign-in, the access token of their
    /// admin key (renewed while pages are in use), its claims, the CSRF token every form of theirs
    /// carries (an HMAC of the session ID, so it stays valid across renewals), and a renewed
    /// cookie to send when the token is past half its life. The cookie's value is `<id>~<token>`.
    struct Session: Sendable {
        var id: String
        var token: String
        var claims: TokenSigner.Claims
        var csrf: String
        var renewal: [String] = []
    }

    /// The session of the request's cookie, if it holds a session ID not signed out and a live
    /// admin token whose key is not revoked, signed in less than `--web-session-lifetime` ago;
    /// nil if not. A page is a request of the session's key and takes from its rate
    /// (`--key-rate-limit`): past it this throws `rate_limited`, so the page says so instead of
    /// sending a signed-in operator to the sign-in form.
    func session(_ request: HTTPRequest) throws(IngestError) -> Session? {
        guard let value = RequestCookies(header: request.headers.first(name: "cookie"))[Self.sessionCookie],
            let tilde = value.firstIndex(of: "~")
        else { return nil }
        let (id, token) = (String(value[..<tilde]), String(value[value.index(after: tilde)...]))
        guard id.utf8.count == 43, id.utf8.allSatisfy(Self.isBase64URL), !token.isEmpty, !authenticator.isEnded(sessionID: id) else { return nil }
        let instant = clock.now()
        let claims: TokenSigner.Claims
        do {
            claims = try authenticator.authorize(authorization: "Bearer " + token, role: .admin, now: instant)
        } catch {
            if error.code == .rateLimited { throw error }
            return nil
        }
        // The sign-in's own token carries no `auth_time`: it was issued at the sign-in.
        let signedIn = claims.authTime ?? claims.issuedAt
        let now = instant.milliseconds / 1000
        let sessionEnds = signedIn + Int64(configuration.sessionLifetime.seconds)
        guard now < sessionEnds else { return nil }
        let signer = authenticator.signer
        var session = Session(id: id, token: token, claims: claims, csrf: signer.mac(purpose: "csrf", id))
        let lifetime = Int64(signer.accessLifetime.seconds)
        if claims.expiresAt - now < lifetime / 2 {
            let fresh = signer.issue(keyID: claims.keyID, role: claims.role, namespace: claims.namespace, now: instant, authTime: signedIn).access
            session.renewal = [Self.cookie(Self.sessionCookie, id + "~" + fresh, maxAge: min(lifetime, sessionEnds - now))]
        }
        return session
    }

    /// 32 random bytes in base64url without padding (43 characters).
    static func randomToken() -> String {
        TokenSigner.base64URL(Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }))
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// The sign-in page. Its form's CSRF token is bound to a random value in a cookie of its own
    /// (set here when missing), so a form posted from elsewhere cannot sign a browser in.
    func signInForm(_ request: HTTPRequest, problem: String?, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        var nonce = RequestCookies(header: request.headers.first(name: "cookie"))[Self.signInCookie] ?? ""
        var cookies: [String] = []
        if nonce.utf8.count != 43 || !nonce.utf8.allSatisfy(Self.isBase64URL) {
            nonce = Self.randomToken()
            cookies.append(Self.cookie(Self.signInCookie, nonce, maxAge: 3600))
        }
        let csrf = authenticator.signer.mac(purpose: "sign-in", nonce)
        return Self.page(status, Layout.bare(title: "Sign in", SignInPage.form(csrf: csrf, problem: problem)), cookies: cookies)
    }

    /// `POST /console/sign-in` with `key` and `csrf`: an admin key gets a session; anything else
    /// the form again, saying why.
    func signIn(_ request: HTTPRequest, writer: ResponseWriter) {
        let form = FormBody(request.body.readableBytesView)
        let nonce = RequestCookies(header: request.headers.first(name: "cookie"))[Self.signInCookie] ?? ""
        guard !nonce.isEmpty, let csrf = form["csrf"], Self.constantTimeEqual(csrf, authenticator.signer.mac(purpose: "sign-in", nonce)) else {
            return writer.respond(signInForm(request, problem: "The form had expired. Sign in again.", status: .forbidden))
        }
        let key = (form["key"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let authenticator = self.authenticator
        let now = clock.now()
        let logger = self.logger
        Task {
            do throws(IngestError) {
                let access = try await authenticator.login(apiToken: key, now: now).access
                let claims = try authenticator.signer.verify(Substring(access), kind: .access, now: now)
                guard claims.role == .admin else {
                    logger.notice("web console: a sensor key was refused at sign-in", metadata: ["key_id": "\(claims.keyID)"])
                    return writer.respond(self.signInForm(request, problem: "That is a sensor key: only an admin key signs in here.", status: .forbidden))
                }
                logger.info("web console: signed in", metadata: ["key_id": "\(claims.keyID)"])
                writer.respond(Self.redirect("/console/", cookies: [
                    Self.cookie(
                        Self.sessionCookie, Self.randomToken() + "~" + access,
                        maxAge: min(Int64(authenticator.signer.accessLifetime.seconds), Int64(configuration.sessionLifetime.seconds))),
                    Self.cookie(Self.signInCookie, "", maxAge: 0),
                ]))
            } catch {
                let problem = error.code == .rateLimited ? "Too many attempts with this key; wait a moment." :
                    error.httpStatus >= 500 ? "The console cannot check keys right now; try again shortly." : "That key is not valid."
                writer.respond(self.signInForm(request, problem: problem, status: HTTPResponseStatus(statusCode: error.httpStatus)))
            }
        }
    }

    /// `POST /console/sign-out`: ends the session on every gateway (a copy of the cookie stops
    /// working too), then clears the cookie. If the catalog cannot record it the session still
    /// works, and the page says so instead of appearing to sign out.
    func signOut(_ session: Session, writer: ResponseWriter) {
        let authenticator = self.authenticator
        Task {
            do throws(IngestError) {
                try await authenticator.endSession(session.id)
                logger.info("web console: signed out", metadata: ["key_id": "\(session.claims.keyID)"])
                writer.respond(Self.redirect("/console/sign-in", cookies: [Self.cookie(Self.sessionCookie, "", maxAge: 0)]))
            } catch {
                writer.respond(Self.page(HTTPResponseStatus(statusCode: error.httpStatus), Layout.page(title: "Not signed out", session: session, """
                    <h1>Not signed out</h1><p class="problem">The console could not record the sign-out, so this session still works. Try again shortly.</p>
                    """), cookies: session.renewal))
            }
        }
    }

    // MARK: Responses

    /// `Set-Cookie` for a console cookie: only over HTTPS, never readable by script, never sent
    /// with a request another site starts. The names carry the `__Host-` prefix, which browsers
    /// accept only with `Secure`, `Path=/` and no `Domain`: only this host, over HTTPS, can set
    /// them, so no sibling subdomain or plain-HTTP page can plant a session of its choosing.
    static func cookie(_ name: String, _ value: String, maxAge: Int64) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; Secure; SameSite=Strict"
    }

    /// The headers of every page and asset: no script, style, image or connection from anywhere
    /// but this origin, no inline script or style, no framing, no forms posted elsewhere, no
    /// sniffing, no referrer, no caching.
    static let securityHeaders: [(String, String)] = [
        ("content-security-policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("cross-origin-opener-policy", "same-origin"),
    ]

    static func page(_ status: HTTPResponseStatus, _ html: HTML, cookies: [String] = []) -> HTTPResponse {
        var response = HTTPResponse(status: status, headers: ["content-type": "text/html; charset=utf-8"], body: ByteBuffer(string: html.text))
        for (name, value) in securityHeaders { response.headers.add(name: name, value: value) }
        for cookie in cookies { response.headers.add(name: "set-cookie", value: cookie) }
        return response
    }

    static func redirect(_ location: String, cookies: [String] = []) -> HTTPResponse {
        var response = HTTPResponse(status: .seeOther, headers: ["location": location])
        for (name, value) in securityHeaders { response.headers.add(name: name, value: value) }
        for cookie in cookies { response.headers.add(name: "set-cookie", value: cookie) }
        return response
    }

    static func asset(_ text: String, type: String) -> HTTPResponse {
        var response = HTTPResponse(status: .ok, headers: ["content-type": type], body: ByteBuffer(string: text))
        for (name, value) in securityHeaders where name != "cache-control" { response.headers.add(name: name, value: value) }
        response.headers.add(name: "cache-control", value: "private, max-age=300")
        return response
    }

    static func methodNotAllowed(_ methods: [HTTPMethod]) -> HTTPResponse {
        var response = page(.methodNotAllowed, Layout.bare(title: "Not allowed", "<p>This page does not take that method.</p>"))
        response.headers.add(name: "allow", value: methods.map(\.rawValue).joined(separator: ", "))
        return response
    }

    /// Compares two tokens in time that does not depend on where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
