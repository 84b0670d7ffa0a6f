import Foundation
import IngestAuth

/// Where a page of findings ends, as the operator API and the web console write it: base64url
/// (no padding) of the last finding's scan ID, a zero byte, and its key.
public enum FindingCursor {
    public static func text(scanID: String, key: String) -> String {
        TokenSigner.base64URL(Data((scanID + "\u{0}" + key).utf8))
    }

    /// The scan ID and key of a cursor; nil when the text is not one.
    public static func parse(_ text: String) -> (scanID: String, key: String)? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8),
            let zero = decoded.firstIndex(of: "\u{0}")
        else { return nil }
        return (String(decoded[..<zero]), String(decoded[decoded.index(after: zero)...]))
    }
}
