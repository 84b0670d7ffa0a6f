import Foundation
import IngestAuth
import IngestCore
import IngestGateway
import IngestTransport
import Logging
import NIOCore
import NIOHTTP1

/// The operator's web console, served under `/console/` on the console's port by every gateway
/// and by all-in-one: server-rendered pages over the operator service, one small script, every
/// asset built into the binary. Everything else goes to the gateway as before.
///
/// ## Overview
/// An operator signs in with an admin API key; the console logs the key in as a sensor would
/// and keeps a random session ID and the access token in a `__Host-` cookie (`HttpOnly; Secure;
/// SameSite=Strict; Path=/`), the token renewed while in use. A session ends 30 minutes after its
/// last renewal, `--web-session-lifetime` after its sign-in however often it was renewed, as soon
/// as its key is revoked, or when it signs out (on every gateway: the session is recorded in the
/// catalog as ended, ``Authenticator/endSession(_:)``). Every form carries a CSRF token, an HMAC of
/// the session ID under a key derived from the token-signing key, so every gateway of a cluster
/// checks any session and a renewal does not invalidate the forms already on a page. Every answer
/// carries a strict Content-Security-Policy (no inline script or style, nothing from elsewhere),
/// and everything a sensor sent is escaped (``HTML``).
public final class WebConsole: HTTPResponder {
    public struct Configuration: Sendable {
        /// How long a member may go without a heartbeat before the coordinator counts it dead
        /// (`--member-timeout`): the cluster page judges heartbeats by the same rule.
        public var memberTimeout: Duration = .seconds(10)
        /// How often the overview's activity chart samples the workers' totals.
        public var sampleInterval: Duration = .seconds(10)
        /// How long a session lasts from its sign-in, however often its token is renewed
        /// (`--web-session-lifetime`, default 12 hours).
        public var sessionLifetime: Duration = .seconds(12 * 3600)

        public init() {}
    }

    let gateway: Gateway
    let operations: OperatorService
    let authenticator: Authenticator
    let configuration: Configuration
    let clock: any IngestClock
    let logger: Logger
    /// Samples the workers' totals for the overview's chart (run it with the other services).
    public let activity: ActivitySampler

    static let sessionCookie = "__Host-console_session"
    static let signInCookie = "__Host-console_sign_in"

    public init(gateway: Gateway, authenticator: Authenticator, configuration: Configuration = Configuration(), clock: any IngestClock, logger: Logger) {
        self.gateway = gateway
        self.operations = gateway.operations
        self.authenticator = authenticator
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.activity = ActivitySampler(
            operations: gateway.operations, errors: { gateway.errorsAnswered }, interval: configuration.sampleInterval, clock: clock, logger: logger)
    }

    // MARK: HTTPResponder

    public func bodyLimit(uri: String) -> Int { gateway.bodyLimit(uri: uri) }
    public func bodyTooLarge(uri: String, limit: Int) -> HTTPResponse { gateway.bodyTooLarge(uri: uri, limit: limit) }
    public func bodyIntake(uri: String, headers: RequestHeaders) -> BodyIntake { gateway.bodyIntake(uri: uri, headers: headers) }

    public func handle(_ request: HTTPRequest, writer: ResponseWriter) {
        let path = request.path
        if path == "/" || path == "/console" {
            guard request.method == .GET || request.method == .HEAD else { return writer.respond(Self.methodNotAllowed([.GET, .HEAD])) }
            return writer.respond(Self.redirect("/console/"))
        }
        guard path.hasPrefix("/console/") else { return gateway.handle(request, writer: writer) }
        route(request, path: path.dropFirst("/console".count), writer: writer)
    }

    // MARK: Routing

    func route(_ request: HTTPRequest, path: Substring, writer: ResponseWriter) {
        switch path {
        case "/assets/console.css": return get(request, writer) { Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        case "/assets/console.js": return get(request, writer) { Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        case "/sign-in":
            switch request.method {
            case .GET, .HEAD: return writer.respond(signInForm(request, problem: nil))
            case .POST: return signIn(request, writer: writer)
            default: return writer.respond(Self.methodNotAllowed([.GET, .POST]))
            }
        default: break
        }
        // PostgreSQL text holds no NUL: a query with one names nothing and must not reach it (a 503).
        if request.query.flatMap({ String($0).removingPercentEncoding })?.contains("\0") == true {
            return writer.respond(Self.page(.badRequest, Layout.bare(title: "Bad request", "<p>The address holds a NUL character (%00).</p>")))
        }
        let found: Session?
        do {
            found = try session(request)
        } catch {
            var refused = Self.page(HTTPResponseStatus(statusCode: error.httpStatus), Layout.bare(title: "Too many requests", "<p>\(error.message).</p>"))
            if let seconds = error.retryAfter { refused.headers.add(name: "retry-after", value: String(seconds)) }
            return writer.respond(refused)
        }
        guard let session = found else {
            // A page asks the browser to sign in; a script's refresh or a form gets a plain 401/403.
            if request.method == .GET && request.queryParameter("fragment") == nil { return writer.respond(Self.redirect("/console/sign-in")) }
            return writer.respond(Self.page(.unauthorized, Layout.bare(title: "Signed out", "<p>Your session has ended. <a href=\"/console/sign-in\">Sign in</a> again.</p>")))
        }
        if request.method == .POST {
            let form = FormBody(request.body.readableBytesView)
            guard let csrf = form["csrf"], Self.constantTimeEqual(csrf, session.csrf) else {
                logger.notice("web console: a POST without a valid CSRF token refused", metadata: ["path": "\(path)"])
                return writer.respond(Self.page(.forbidden, Layout.bare(title: "Refused", "<p>The form was refused: it did not carry this session's token. Reload the page and try again.</p>")))
            }
            return post(path, form: form, session: session, writer: writer)
        }
        guard request.method == .GET || request.method == .HEAD else { return writer.respond(Self.methodNotAllowed([.GET, .POST])) }
        if path.hasPrefix("/api/v1/") { return passThrough(request, path: path, session: session, writer: writer) }
        let fragment = request.queryParameter("fragment") == "1"
        switch path {
        case "/": render(writer, session) { () throws(IngestError) in try await self.overview(session) }
        case "/cluster": render(writer, session, fragment: fragment) { () throws(IngestError) in try await self.cluster(session) }
        case "/nodes": render(writer, session) { () throws(IngestError) in try await self.nodes(request, session) }
        case "/node": render(writer, session) { () throws(IngestError) in try await self.node(request, session) }
        case "/scans": render(writer, session) { () throws(IngestError) in try await self.scans(request, session) }
        case "/scan": render(writer, session) { () throws(IngestError) in try await self.scan(request, session) }
        case "/keys": render(writer, session) { () throws(IngestError) in try await self.keys(session, created: nil) }
        default: writer.respond(Self.page(.notFound, Layout.page(title: "Not found", session: session, "<p>No such page.</p>")))
        }
    }

    func post(_ path: Substring, form: FormBody, session: Session, writer: ResponseWriter) {
        switch path {
        case "/sign-out": signOut(session, writer: writer)
        case "/node/scan": act(writer, session) { () throws(IngestError) in try await self.queueScan(form) }
        case "/node/command": act(writer, session) { () throws(IngestError) in try await self.queueCommand(form) }
        case "/keys/create": render(writer, session) { () throws(IngestError) in try await self.createKey(form, session) }
        case "/keys/revoke": act(writer, session) { () throws(IngestError) in try await self.revokeKey(form, session) }
        default: writer.respond(Self.page(.notFound, Layout.page(title: "Not found", session: session, "<p>No such form.</p>")))
        }
    }

    /// A GET-only route answered at once.
    func get(_ request: HTTPRequest, _ writer: ResponseWriter, _ answer: () -> HTTPResponse) {
        guard request.method == .GET || request.method == .HEAD else { return writer.respond(Self.methodNotAllowed([.GET, .HEAD])) }
        writer.respond(answer())
    }

    /// Renders a page (or, for the script's refresh, only its main part) from async reads; an
    /// error becomes a page that names it.
    func render(_ writer: ResponseWriter, _ session: Session, fragment: Bool = false, _ work: @escaping @Sendable () async throws(IngestError) -> (title: String, body: HTML)) {
        Task {
            do throws(IngestError) {
                let page = try await work()
                writer.respond(Self.page(.ok, fragment ? page.body : Layout.page(title: page.title, session: session, page.body), cookies: session.renewal))
            } catch {
                writer.respond(self.errorPage(error, session: session))
            }
        }
    }

    /// Runs a form's action and answers with a redirect to the page that shows its outcome.
    func act(_ writer: ResponseWriter, _ session: Session, _ work: @escaping @Sendable () async throws(IngestError) -> String) {
        Task {
            do throws(IngestError) {
                writer.respond(Self.redirect(try await work(), cookies: session.renewal))
            } catch {
                writer.respond(self.errorPage(error, session: session))
            }
        }
    }

    func errorPage(_ error: IngestError, session: Session) -> HTTPResponse {
        if error.httpStatus >= 500 { logger.warning("web console: a page failed", metadata: ["code": "\(error.code)"]) }
        let status = HTTPResponseStatus(statusCode: error.httpStatus)
        return Self.page(status, Layout.page(title: "Could not be done", session: session, """
            <h1>Could not be done</h1><p class="problem">\(error.message)</p><p><a href="/console/">Back to the overview</a></p>
            """))
    }

    /// `GET /console/api/v1/…`: the operator API's answer for this session (the exports the
    /// pages link to download with the session's token, not a token pasted by hand).
    func passThrough(_ request: HTTPRequest, path: Substring, session: Session, writer: ResponseWriter) {
        var headers = HTTPHeaders()
        headers.add(name: "authorization", value: "Bearer " + session.token)
        let uri = String(path) + (request.query.map { "?" + $0 } ?? "")
        let forwarded = HTTPRequest(method: .GET, uri: uri, headers: RequestHeaders(headers), body: ByteBuffer(), isHTTP2: request.isHTTP2)
        gateway.handle(forwarded, writer: writer)
    }
}
