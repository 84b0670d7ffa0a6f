import Crypto
import Foundation
import IngestCore

/// Issues and verifies the HS256 JWTs of the sensor API, with ThreatMapper's lifetimes (access
/// 30 minutes, refresh 26 hours) and claim names.
///
/// Access tokens carry `id`, `user_id` (the API key's ID), `role`, `grant_type`, `namespace`,
/// `is_active`, `iat`, `exp`; refresh tokens carry `token_id`, `user`, `type: "refresh_token"`,
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
    }

    let keyBytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    /// Access token lifetime (`--access-token-lifetime`, default 30 minutes).
    public let accessLifetime: Duration
    /// Refresh token lifetime (`--refresh-token-lifetime`, default 26 hours).
    public let refreshLifetime: Duration

    static let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    public init(key: [UInt8], accessLifetime: Duration = .seconds(30 * 60), refreshLifetime: Duration = .seconds(26 * 3600)) {
        self.keyBytes = key
        self.accessLifetime = accessLifetime
        self.refreshLifetime = refreshLifetime
    }

    /// A new access and refresh token pair for an API key.
    public func issue(keyID: Int64, role: APIRole, namespace: String, now: Timestamp) -> (access: String, refresh: String) {
        let issued = now.milliseconds / 1000
        let tokenID = UUID().uuidString.lowercased()
        let access: [(String, String)] = [
            ("id", JSONText.quoted(tokenID)), ("user_id", String(keyID)), ("first_name", "\"\""), ("last_name", "\"\""),
            ("email", "\"\""), ("company", "\"\""), ("role", JSONText.quoted(role.rawValue)), ("role_id", "0"),
            ("company_id", "0"), ("is_active", "true"), ("grant_type", "\"api_token\""),
            ("namespace", JSONText.quoted(namespace)), ("iat", String(issued)),
            ("exp", String(issued + Int64(accessLifetime.seconds))),
        ]
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
        let signingInput = Self.header + "." + Self.base64URL(Data(payload.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return signingInput + "." + Self.base64URL(Data(mac))
    }

    /// Verifies a token's signature, expiry and kind; returns its claims.
    public func verify(_ token: Substring, kind: Claims.Kind, now: Timestamp) throws(IngestError) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = Self.decodeBase64URL(parts[2]) else { throw .invalidToken }
        let signingInput = Data(token[..<parts[2].startIndex].dropLast().utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            throw .invalidToken
        }
        guard let headerData = Self.decodeBase64URL(parts[0]),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
            header["alg"] as? String == "HS256",
            let payloadData = Self.decodeBase64URL(parts[1]),
            let payload = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any],
            let expiresAt = (payload["exp"] as? NSNumber)?.int64Value,
            let issuedAt = (payload["iat"] as? NSNumber)?.int64Value,
            let role = (payload["role"] as? String).flatMap(APIRole.init(rawValue:)),
            let namespace = payload["namespace"] as? String
        else { throw .invalidToken }
        let isRefresh = payload["type"] as? String == "refresh_token"
        let keyID = ((isRefresh ? payload["user"] : payload["user_id"]) as? NSNumber)?.int64Value
        guard let keyID else { throw .invalidToken }
        guard now.milliseconds / 1000 < expiresAt else { throw .expiredToken }
        switch (kind, isRefresh) {
        case (.access, true): throw .invalidToken
        case (.refresh, false): throw .wrongTokenKind
        default: break
        }
        return Claims(kind: kind, keyID: keyID, role: role, namespace: namespace, issuedAt: issuedAt, expiresAt: expiresAt)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
