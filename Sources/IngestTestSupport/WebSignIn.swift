import IngestTransport
import NIOCore
import NIOHTTP1

/// Signs in to the web console the way a browser does: the sign-in page (its cookie and form
/// token), then the form with the key (its text). Returns the `Cookie` header of the session.
public enum WebSignIn {
    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    public static func session(on connection: HTTPClientConnection, key: String) async throws -> String {
        let form = try await connection.request(.GET, "/console/sign-in")
        guard let nonce = cookie(form, named: "__Host-console_sign_in"),
            let csrf = formToken(in: form.text)
        else { throw Failed(description: "the sign-in page had no form token: \(form.status) \(form.text.prefix(300))") }
        let body = "csrf=\(csrf)&key=" + key.replacingOccurrences(of: "=", with: "%3D").replacingOccurrences(of: "+", with: "%2B")
        let signedIn = try await connection.request(
            .POST, "/console/sign-in", headers: ["cookie": "__Host-console_sign_in=\(nonce)", "content-type": "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: body))
        guard signedIn.status == .seeOther, let session = cookie(signedIn, named: "__Host-console_session") else {
            throw Failed(description: "sign-in refused: \(signedIn.status) \(signedIn.text.prefix(300))")
        }
        return "__Host-console_session=\(session)"
    }

    /// The CSRF token of the first form of a page.
    public static func formToken(in page: String) -> String? {
        page.components(separatedBy: #"name="csrf" value=""#).dropFirst().first?.split(separator: "\"").first.map(String.init)
    }

    /// The value a response sets for a cookie.
    static func cookie(_ response: ClientResponse, named name: String) -> String? {
        for header in response.headers["set-cookie"] where header.hasPrefix(name + "=") {
            return header.dropFirst(name.count + 1).split(separator: ";").first.map(String.init)
        }
        return nil
    }
}
