import Crypto
import Foundation
import IngestCore

/// Issues and verifies the HS256 JWTs of the sensor API, with ThreatMapper's lifetimes (access
/// 30 minutes, refresh 26 hours) and claim names.
///
/// Access tokens carry `id`, `user_id` (the API key's ID), `role`, `grant_type`, `namespace`,
/// `is_active`, `iat`, `exp` (and `auth_time` when the web console renews a session's token);
/// refresh tokens carry `token_id`, `user`, `type: "refresh_token"`,
/// `role`, `grant_type`, `namespace`, `iat`, `exp`. Verification is stateless: signature, expiry,
/// and the kind of token the route needs.
public struct TokenSigner: Sendable {
    /// The claims the console reads back.
    public struct Claims: Sendable, Hashable {
        public enum Kind: Sendable, Hashable { case access, refresh }
        public var kind: Kind
        public var keyID: Int64
        public var role: APIRole
        public var namespace: String
        public var issuedAt: Int64
        public var expiresAt: Int64
        /// When the session the token belongs to signed in (`auth_time`, seconds; OpenID Connect's
        /// name for it): set on the web console's renewed tokens, which keep the first sign-in's
        /// time so a session has an end however often it is renewed. Nil on every other token.
        public var authTime: Int64? = nil
    }

    let keyBytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    /// Access token lifetime (`--access-token-lifetime`, default 30 minutes).
    public let accessLifetime: Duration
    /// Refresh token lifetime (`--refresh-token-lifetime`, default 26 hours).
    public let refreshLifetime: Duration

    static let header = Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)

    public init(key: [UInt8], accessLifetime: Duration = .seconds(30 * 60), refreshLifetime: Duration = .seconds(26 * 3600)) {
        self.keyBytes = key
        self.accessLifetime = accessLifetime
        self.refreshLifetime = refreshLifetime
    }

    /// A new access and refresh token pair for an API key; `authTime` adds the access token's
    /// `auth_time` claim (``Claims/authTime``).
    public func issue(keyID: Int64, role: APIRole, namespace: String, now: Timestamp, authTime: Int64? = nil) -> (access: String, refresh: String) {
        let issued = now.milliseconds / 1000
        let tokenID = UUID().uuidString.lowercased()
        var access: [(String, String)] = [
            ("id", JSONText.quoted(tokenID)), ("user_id", String(keyID)), ("first_name", "\"\""), ("last_name", "\"\""),
            ("email", "\"\""), ("company", "\"\""), ("role", JSONText.quoted(role.rawValue)), ("role_id", "0"),
            ("company_id", "0"), ("is_active", "true"), ("grant_type", "\"api_token\""),
            ("namespace", JSONText.quoted(namespace)), ("iat", String(issued)),
            ("exp", String(issued + Int64(accessLifetime.seconds))),
        ]
        if let authTime { access.append(("auth_time", String(authTime))) }
        let refresh: [(String, String)] = [
            ("token_id", JSONText.quoted(tokenID)), ("user", String(keyID)), ("type", "\"refresh_token\""),
            ("role", JSONText.quoted(role.rawValue)), ("grant_type", "\"api_token\""),
            ("namespace", JSONText.quoted(namespace)), ("iat", String(issued)),
            ("exp", String(issued + Int64(refreshLifetime.seconds))),
        ]
        return (sign(access), sign(refresh))
    }

    func sign(_ claims: [(String, String)]) -> String {
        let payload = "{" + claims.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        return signed(encodedHeader: Self.encodedHeader, claims: Array(payload.utf8))
    }

    /// ``header`` in base64url, encoded once.
    static let encodedHeader = base64URL(Data(header))

    /// A token of any header and claims bytes, signed with the key (the fuzz target's way past
    /// the signature check).
    package func signed(header: [UInt8], claims: [UInt8]) -> String {
        signed(encodedHeader: Self.base64URL(Data(header)), claims: claims)
    }

    func signed(encodedHeader: String, claims: [UInt8]) -> String {
        let signingInput = encodedHeader + "." + Self.base64URL(Data(claims))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return signingInput + "." + Self.base64URL(Data(mac))
    }

    /// A MAC of `text` for one `purpose` (base64url), with a key derived from the signing key, so
    /// it never equals a token's signature: the web console's CSRF tokens, bound to a session.
    public func mac(purpose: String, _ text: String) -> String {
        let derived = HMAC<SHA256>.authenticationCode(for: Data(("mac:" + purpose).utf8), using: key)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(derived)))
        return Self.base64URL(Data(mac))
    }

    /// Whether the text is exactly its own signing input followed by the key's signature of it.
    package func isSigned(_ token: String) -> Bool {
        guard let dot = token.lastIndex(of: ".") else { return false }
        let signingInput = token[..<dot]
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return token[token.index(after: dot)...] == Self.base64URL(Data(mac))
    }

    /// Verifies a token's signature, expiry and kind; returns its claims.
    public func verify(_ token: Substring, kind: Claims.Kind, now: Timestamp) throws(IngestError) -> Claims {
        let bytes = Array(token.utf8)
        guard let first = bytes.firstIndex(of: UInt8(ascii: ".")),
            let second = bytes[(first + 1)...].firstIndex(of: UInt8(ascii: ".")),
            let signature = Self.decodeBase64URL(bytes[(second + 1)...])
        else { throw .invalidToken }
        let valid = bytes.withUnsafeBytes { raw in
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: UnsafeRawBufferPointer(rebasing: raw[..<second]), using: key)
        }
        guard valid,
            let headerBytes = Self.decodeBase64URL(bytes[..<first]),
            let header = try? JSONObject(parsing: headerBytes), header["alg"]?.string == "HS256",
            let payloadBytes = Self.decodeBase64URL(bytes[(first + 1)..<second]),
            let payload = try? JSONObject(parsing: payloadBytes),
            let expiresAt = payload["exp"]?.int, let issuedAt = payload["iat"]?.int,
            let role = payload["role"]?.string.flatMap(APIRole.init(rawValue:)),
            let namespace = payload["namespace"]?.string
        else { throw .invalidToken }
        let isRefresh = payload["type"]?.string == "refresh_token"
        guard let keyID = (isRefresh ? payload["user"] : payload["user_id"])?.int else { throw .invalidToken }
        guard now.milliseconds / 1000 < Int64(expiresAt) else { throw .expiredToken }
        switch (kind, isRefresh) {
        case (.access, true): throw .invalidToken
        case (.refresh, false): throw .wrongTokenKind
        default: break
        }
        let authTime: Int64?
        if let value = payload["auth_time"] {
            guard let seconds = value.int else { throw .invalidToken }
            authTime = Int64(seconds)
        } else {
            authTime = nil
        }
        return Claims(kind: kind, keyID: Int64(keyID), role: role, namespace: namespace, issuedAt: Int64(issuedAt),
                      expiresAt: Int64(expiresAt), authTime: authTime)
    }

    /// Base64url (RFC 4648 §5) without padding, as JWTs use it.
    static func decodeBase64URL(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "_"): value = 63
            default: return nil
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // A single leftover character cannot encode a byte.
        return bits >= 6 ? nil : output
    }

    /// Base64url without padding (RFC 4648 §5), as JWTs write their parts.
    public static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
