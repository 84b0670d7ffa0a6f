import Foundation
import IngestCore
import Testing
@testable import IngestAuth

struct TokenSignerTests {
    let signer = TokenSigner(key: Array(repeating: 7, count: 32))
    let now = Timestamp(milliseconds: 1_800_000_000_000)

    @Test func issuesVerifiableAccessAndRefreshTokens() throws {
        let pair = signer.issue(keyID: 42, role: .sensor, namespace: "default", now: now)
        let access = try signer.verify(Substring(pair.access), kind: .access, now: now)
        #expect(access.keyID == 42 && access.role == .sensor && access.namespace == "default")
        #expect(access.expiresAt - access.issuedAt == 30 * 60)
        let refresh = try signer.verify(Substring(pair.refresh), kind: .refresh, now: now)
        #expect(refresh.expiresAt - refresh.issuedAt == 26 * 3600)
    }

    @Test func aRenewedTokenKeepsItsSessionsSignInTime() throws {
        let plain = try signer.verify(Substring(signer.issue(keyID: 3, role: .admin, namespace: "default", now: now).access), kind: .access, now: now)
        #expect(plain.authTime == nil)
        let signedIn = now.milliseconds / 1000 - 7200
        let renewed = try signer.verify(
            Substring(signer.issue(keyID: 3, role: .admin, namespace: "default", now: now, authTime: signedIn).access), kind: .access, now: now)
        #expect(renewed.authTime == signedIn && renewed.issuedAt == now.milliseconds / 1000)
        // A signed token whose auth_time is not a number of seconds is refused, not read as none.
        let header = Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)
        let claims = #"{"user_id":3,"role":"admin","namespace":"default","iat":\#(now.milliseconds / 1000),"exp":\#(now.milliseconds / 1000 + 60),"auth_time":"yesterday"}"#
        #expect(throws: IngestError.invalidToken) {
            try signer.verify(Substring(signer.signed(header: header, claims: Array(claims.utf8))), kind: .access, now: now)
        }
    }

    @Test func expiresOnTime() throws {
        let pair = signer.issue(keyID: 1, role: .admin, namespace: "default", now: now)
        _ = try signer.verify(Substring(pair.access), kind: .access, now: now.advanced(by: .seconds(30 * 60 - 1)))
        #expect(throws: IngestError.expiredToken) {
            try signer.verify(Substring(pair.access), kind: .access, now: now.advanced(by: .seconds(30 * 60)))
        }
    }

    @Test func kindsAreNotInterchangeable() {
        let pair = signer.issue(keyID: 1, role: .sensor, namespace: "default", now: now)
        #expect(throws: IngestError.invalidToken) { try signer.verify(Substring(pair.refresh), kind: .access, now: now) }
        #expect(throws: IngestError.wrongTokenKind) { try signer.verify(Substring(pair.access), kind: .refresh, now: now) }
    }

    @Test func rejectsForgedAndMangledTokens() {
        let pair = signer.issue(keyID: 1, role: .sensor, namespace: "default", now: now)
        let other = TokenSigner(key: Array(repeating: 8, count: 32)).issue(keyID: 1, role: .admin, namespace: "default", now: now)
        #expect(throws: IngestError.invalidToken) { try signer.verify(Substring(other.access), kind: .access, now: now) }
        // Swap in an admin payload under the sensor token's signature.
        let parts = pair.access.split(separator: ".")
        let forged = [parts[0], other.access.split(separator: ".")[1], parts[2]].joined(separator: ".")
        #expect(throws: IngestError.invalidToken) { try signer.verify(Substring(forged), kind: .access, now: now) }
        for junk in ["", "a.b", "a.b.c", pair.access + "x"] {
            #expect(throws: IngestError.self) { try signer.verify(Substring(junk), kind: .access, now: now) }
        }
    }
}
