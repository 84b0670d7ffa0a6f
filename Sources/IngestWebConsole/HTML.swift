/// A piece of HTML. Text interpolated into it is escaped (`&`, `<`, `>`, `"`, `'`), so whatever a
/// sensor sent — a host name, a command line, a label — is shown as text and never parsed as
/// markup, in element content and in quoted attribute values alike; only another `HTML` value is
/// inserted as it is. Pages are built from these and nothing else.
public struct HTML: Sendable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public private(set) var text: String

    public init(stringLiteral literal: String) { text = literal }

    public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    init(trusted text: String) { self.text = text }

    public var description: String { text }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + 16 * interpolationCount) }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        /// Text, escaped.
        public mutating func appendInterpolation(_ value: String) { HTML.escape(value, into: &text) }

        /// Text, escaped; nothing for nil.
        public mutating func appendInterpolation(_ value: String?) { if let value { HTML.escape(value, into: &text) } }

        /// A number.
        public mutating func appendInterpolation<Number: BinaryInteger>(_ value: Number) { text += String(value) }

        /// Markup built the same way.
        public mutating func appendInterpolation(_ value: HTML) { text += value.text }

        /// Pieces of markup, one after another.
        public mutating func appendInterpolation(_ values: [HTML]) { for value in values { text += value.text } }
    }

    /// Appends `value` with the five characters that can end text or an attribute value replaced
    /// by their character references.
    static func escape(_ value: String, into text: inout String) {
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": text += "&amp;"
            case "<": text += "&lt;"
            case ">": text += "&gt;"
            case "\"": text += "&quot;"
            case "'": text += "&#39;"
            case "\0": text += "\u{FFFD}"
            default: text.unicodeScalars.append(scalar)
            }
        }
    }

    /// `value` escaped, as a string.
    public static func escaped(_ value: String) -> String {
        var text = ""
        escape(value, into: &text)
        return text
    }
}

/// A path of the web console with its query, built from parts that are percent-encoded, so a
/// node ID such as `javascript:alert(1)` or `../../api` stays one segment of a same-origin path.
/// Interpolated into ``HTML``, it is escaped again like any text.
struct ConsolePath: Sendable {
    private(set) var text: String

    /// `/console` followed by each segment, encoded.
    init(_ segments: String...) {
        text = "/console" + segments.map { "/" + Self.encode($0) }.joined()
    }

    /// The path with a query of the pairs whose value is set (in their order).
    func query(_ pairs: [(String, String?)]) -> ConsolePath {
        let set = pairs.compactMap { pair in pair.1.map { Self.encode(pair.0) + "=" + Self.encode($0) } }
        guard !set.isEmpty else { return self }
        var path = self
        path.text += "?" + set.joined(separator: "&")
        return path
    }

    /// Every byte but the unreserved ones (RFC 3986 §2.3) as `%XX`.
    static func encode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return encoded
    }
}

extension HTML.Interpolation {
    /// A console path (escaped as text: `&` between query pairs becomes `&amp;`).
    mutating func appendInterpolation(_ path: ConsolePath) { HTML.escape(path.text, into: &text) }
}
