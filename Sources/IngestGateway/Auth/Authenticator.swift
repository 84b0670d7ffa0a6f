import Crypto
import Foundation
import IngestAuth
import IngestCore
import IngestStorage
import Logging
import Synchronization

/// Logs sensors and operators in with API keys and checks bearer tokens on every protected route.
///
/// Key hashes are cached from the catalog (refreshed every few seconds, and looked up on a
/// miss), so verifying a token never touches the database: signature, expiry, kind, and whether
/// its key has been revoked since it was issued.
public final class Authenticator: Sendable {
    struct KeyEntry: Sendable {
        var id: Int64
        var role: APIRole
        var namespace: String
        var revoked: Bool
    }

    struct Keys: Sendable {
        var byHash: [[UInt8]: KeyEntry] = [:]
        var revoked: Set<Int64> = []
        /// The SHA-256 of every web console session signed out and not yet forgotten
        /// (``endSession(_:)``).
        var endedSessions: Set<[UInt8]> = []
    }

    public let signer: TokenSigner
    let catalog: CatalogStore
    let keys = Mutex(Keys())
    /// Tokens already verified, with their claims: a sensor sends the same access token for 30
    /// minutes, and checking a signature costs more than the rest of a control poll. Expiry,
    /// kind and revocation are still checked on every request.
    let verified = Mutex<[String: TokenSigner.Claims]>([:])
    /// Most tokens kept in the cache before it is emptied (10,000 sensors hold about 10,000).
    static let verifiedCapacity = 100_000
    let logger: Logger
    /// Requests per API key (`--key-rate-limit`, `--key-rate-burst`): logins, refreshes and
    /// every authorized request take from their key's bucket.
    let rates: Mutex<KeyRateLimiter>
    let rateSetting: (limit: Int, flag: String)
    /// When a login with an unknown key last reloaded the table (milliseconds): at most one
    /// such reload a second, so a flood of made-up keys costs no database queries beyond that
    /// (new keys arrive by notification anyway).
    let lastMissReload = Atomic<Int64>(0)

    public init(signer: TokenSigner, catalog: CatalogStore, logger: Logger, keyRate: KeyRateLimiter = KeyRateLimiter(rate: 0, burst: 0)) {
        self.signer = signer
        self.catalog = catalog
        self.logger = logger
        self.rates = Mutex(keyRate)
        self.rateSetting = (keyRate.rate, "--key-rate-limit")
    }

    /// Takes one request from the key's rate; throws `rate_limited` (429) when it is spent.
    func admit(_ keyID: Int64, now: Timestamp) throws(IngestError) {
        guard rates.withLock({ $0.admit(keyID, now: now) }) else {
            throw IngestError.rateLimited(limit: rateSetting.limit, setting: rateSetting.flag)
        }
    }

    /// Reloads the key table and the ended web sessions from the catalog.
    public func reload() async throws {
        let records = try await catalog.apiKeys()
        var table = Keys()
        table.endedSessions = try await catalog.endedWebSessions()
        for record in records {
            guard let role = APIRole(rawValue: record.role) else { continue }
            table.byHash[record.keyHash] = KeyEntry(id: record.id, role: role, namespace: record.namespace, revoked: record.revokedAt != nil)
            if record.revokedAt != nil { table.revoked.insert(record.id) }
        }
        keys.withLock { $0 = table }
    }

    /// Reloads the key table whenever a key is created or revoked or a web session ends (the
    /// catalog's `api_keys` notification, sent when `console apikey create|revoke` or a sign-out
    /// commits), after every reconnect, and every 30 s besides: a revoked key's logins and tokens,
    /// and a signed-out session, stop working at once.
    public func listener(database: Database, logger: Logger) -> CatalogListener {
        CatalogListener(channel: CatalogListener.apiKeys, database: database, poll: .seconds(30), logger: logger) {
            do { try await self.reload() } catch {
                logger.warning("could not reload API keys", metadata: [LogKey.error: "\(redacted(error))"])
            }
        }
    }

    // MARK: Web console sessions

    /// Ends a web console session on every gateway: its ID's hash is stored in the catalog until
    /// the last token it could hold has expired (twice the access-token lifetime: a renewal on a
    /// gateway that had not heard of the sign-out yet issues one more), and refused here at once.
    /// Throws `unavailable` if the catalog could not record it (the session then still works).
    public func endSession(_ sessionID: String) async throws(IngestError) {
        let hash = Self.sessionHash(sessionID)
        do {
            try await catalog.endWebSession(hash: hash, forgetAfter: signer.accessLifetime * 2)
        } catch {
            logger.warning("could not record a web session's sign-out", metadata: [LogKey.error: "\(redacted(error))"])
            throw IngestError.unavailable
        }
        _ = keys.withLock { $0.endedSessions.insert(hash) }
    }

    /// Whether the web console session was signed out (here, or on any gateway once its
    /// notification or the 30-s reload arrived).
    public func isEnded(sessionID: String) -> Bool {
        let hash = Self.sessionHash(sessionID)
        return keys.withLock { $0.endedSessions.contains(hash) }
    }

    static func sessionHash(_ sessionID: String) -> [UInt8] { Array(SHA256.hash(data: Array(sessionID.utf8))) }

    /// Exchanges an API key for a token pair (`POST /deepfence/auth/token`).
    public func login(apiToken: String, now: Timestamp) async throws(IngestError) -> (access: String, refresh: String) {
        guard let key = APIKey(parsing: apiToken) else { throw IngestError.invalidAPIKey }
        var entry = keys.withLock { $0.byHash[key.hash] }
        let last = lastMissReload.load(ordering: .relaxed)
        if entry == nil, now.milliseconds - last >= 1000,
           lastMissReload.compareExchange(expected: last, desired: now.milliseconds, ordering: .relaxed).exchanged
        {
            // Perhaps created since the last reload (by `console apikey create`) and its
            // notification not here yet.
            do { try await reload() } catch {
                logger.warning("could not reload API keys", metadata: [LogKey.error: "\(redacted(error))"])
                throw IngestError.unavailable
            }
            entry = keys.withLock { $0.byHash[key.hash] }
        }
        guard let entry, !entry.revoked else { throw IngestError.invalidAPIKey }
        try admit(entry.id, now: now)
        return signer.issue(keyID: entry.id, role: entry.role, namespace: entry.namespace, now: now)
    }

    /// Issues a new pair for a valid refresh token (`POST /deepfence/auth/token/refresh`).
    public func refresh(authorization: String?, now: Timestamp) throws(IngestError) -> (access: String, refresh: String) {
        let claims = try verify(authorization: authorization, kind: .refresh, now: now)
        try admit(claims.keyID, now: now)
        return signer.issue(keyID: claims.keyID, role: claims.role, namespace: claims.namespace, now: now)
    }

    /// Checks an `Authorization: Bearer` access token; with `role: .admin`, only admin keys pass.
    public func authorize(authorization: String?, role: APIRole, now: Timestamp) throws(IngestError) -> TokenSigner.Claims {
        let claims = try verify(authorization: authorization, kind: .access, now: now)
        if role == .admin && claims.role != .admin { throw IngestError.adminOnly }
        try admit(claims.keyID, now: now)
        return claims
    }

    func verify(authorization: String?, kind: TokenSigner.Claims.Kind, now: Timestamp) throws(IngestError) -> TokenSigner.Claims {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw IngestError.missingToken
        }
        let token = String(authorization.dropFirst(7).drop(while: { $0 == " " }))
        let claims: TokenSigner.Claims
        if let cached = verified.withLock({ $0[token] }), cached.kind == kind {
            guard now.milliseconds / 1000 < cached.expiresAt else { throw IngestError.expiredToken }
            claims = cached
        } else {
            claims = try signer.verify(Substring(token), kind: kind, now: now)
            verified.withLock { cache in
                if cache.count >= Self.verifiedCapacity { cache.removeAll(keepingCapacity: true) }
                cache[token] = claims
            }
        }
        if keys.withLock({ $0.revoked.contains(claims.keyID) }) { throw IngestError.invalidToken }
        return claims
    }
}
