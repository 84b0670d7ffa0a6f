import Crypto
import Foundation

/// A ThreatMapper API key: `"<namespace>:<uuid>"`, handed out as standard base64 without
/// padding. Sensors send it as `DEEPFENCE_KEY`; the console stores only its SHA-256.
public struct APIKey: Sendable, Hashable {
    /// The tenant namespace (`default` on a single-tenant console).
    public let namespace: String
    /// The lower-case UUID.
    public let uuid: String

    /// The namespace of a single-tenant console.
    public static let defaultNamespace = "default"

    public init?(namespace: String, uuid: String) {
        guard Self.isValidNamespace(namespace), Self.isValidUUID(uuid) else { return nil }
        self.namespace = namespace
        self.uuid = uuid
    }

    /// A new random key.
    public static func generate(namespace: String = defaultNamespace) -> APIKey {
        APIKey(namespace: namespace, uuid: UUID().uuidString.lowercased())!
    }

    /// Parses what a sensor sends: the unpadded base64 form, the padded one, or the raw
    /// `namespace:uuid` text (ThreatMapper 2.0 keys).
    public init?(parsing token: String) {
        let trimmed = token.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 256 else { return nil }
        var candidates = [trimmed]
        var padded = trimmed
        while padded.count % 4 != 0 { padded += "=" }
        if let data = Data(base64Encoded: padded), let text = String(data: data, encoding: .utf8) {
            candidates.insert(text, at: 0)
        }
        for candidate in candidates {
            let parts = candidate.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, let key = APIKey(namespace: String(parts[0]), uuid: String(parts[1])) {
                self = key
                return
            }
        }
        return nil
    }

    /// `namespace:uuid`, the text that is hashed.
    public var canonical: String { "\(namespace):\(uuid)" }

    /// The key as handed out: base64 (standard alphabet) without padding.
    public var token: String {
        var text = Data(canonical.utf8).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// The SHA-256 stored in the catalog.
    public var hash: [UInt8] { Array(SHA256.hash(data: Data(canonical.utf8))) }

    static func isValidNamespace(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (3...32).contains(bytes.count), bytes[0] >= UInt8(ascii: "a"), bytes[0] <= UInt8(ascii: "z") else { return false }
        return bytes.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
    }

    static func isValidUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))) {
                return false
            }
        }
        return true
    }
}

/// What an API key may do.
public enum APIRole: String, Sendable, Hashable, CaseIterable {
    /// Sensor routes only (`/deepfence/…`).
    case sensor
    /// Sensor routes and the operator API (`/api/v1/…`).
    case admin
}
