/// The top-level members of a small JSON object (a request body), read with the validating
/// ``JSONScanner``: strings decoded, numbers and nested values kept as their raw JSON text.
///
/// It replaces Foundation's `JSONSerialization` on the sensor routes, where building an
/// `NSDictionary` per control poll cost more than the rest of the request.
public struct JSONObject: Sendable {
    /// One member's value.
    public struct Value: Sendable, Hashable {
        public enum Kind: Sendable, Hashable { case string, number, bool, null, object, array }

        public var kind: Kind
        /// The value's JSON text as it was in the body.
        public var raw: String
        /// For strings: the decoded text.
        public var string: String?

        /// The value as an integer, if it is a JSON number without a fraction or exponent.
        public var int: Int? {
            guard kind == .number, !raw.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
            return Int(raw)
        }

        /// The value as a boolean, if it is one.
        public var bool: Bool? { kind == .bool ? raw == "true" : nil }
    }

    /// The members, in order (a repeated name keeps its last value in ``subscript(_:)``).
    public private(set) var members: [(name: String, value: Value)] = []

    /// Parses a body that must be one JSON object.
    public init(parsing bytes: [UInt8], maxDepth: Int = 32) throws(IngestError) {
        var members: [(name: String, value: Value)] = []
        let result: Result<Void, IngestError> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, maxDepth: maxDepth)
            do throws(IngestError) {
                guard try scanner.peek() == UInt8(ascii: "{") else { throw scanner.failure("the body must be a JSON object") }
                scanner.index += 1
                if try scanner.peek() == UInt8(ascii: "}") {
                    scanner.index += 1
                } else {
                    while true {
                        guard try scanner.peek() == JSONScanner.quote else { throw scanner.failure("expected a member name") }
                        let (nameSpan, nameEscaped) = try scanner.scanString()
                        try scanner.expect(UInt8(ascii: ":"), "':'")
                        let first = try scanner.peek()
                        let start = scanner.index
                        var decoded: String?
                        let kind: Value.Kind
                        switch first {
                        case JSONScanner.quote:
                            let (span, escaped) = try scanner.scanString()
                            decoded = Self.text(buffer, span, escaped: escaped)
                            kind = .string
                        case UInt8(ascii: "{"): try scanner.skipValue(depth: 1); kind = .object
                        case UInt8(ascii: "["): try scanner.skipValue(depth: 1); kind = .array
                        case UInt8(ascii: "t"), UInt8(ascii: "f"): try scanner.skipValue(depth: 1); kind = .bool
                        case UInt8(ascii: "n"): try scanner.skipValue(depth: 1); kind = .null
                        default: try scanner.skipValue(depth: 1); kind = .number
                        }
                        let raw = Self.text(buffer, ByteSpan(start: start, end: scanner.index), escaped: false)
                        members.append((Self.text(buffer, nameSpan, escaped: nameEscaped), Value(kind: kind, raw: raw, string: decoded)))
                        if try scanner.endOfMember(closing: UInt8(ascii: "}")) { break }
                    }
                }
                scanner.skipWhitespace()
                guard scanner.atEnd else { throw scanner.failure("trailing data after the object") }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        self.members = members
    }

    /// The raw JSON text of each element of a JSON array.
    public static func elements(ofArray text: String, maxDepth: Int = 32) throws(IngestError) -> [String] {
        let bytes = Array(text.utf8)
        let result: Result<[String], IngestError> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, maxDepth: maxDepth)
            var elements: [String] = []
            do throws(IngestError) {
                guard try scanner.peek() == UInt8(ascii: "[") else { throw scanner.failure("expected a JSON array") }
                scanner.index += 1
                if try scanner.peek() == UInt8(ascii: "]") {
                    scanner.index += 1
                } else {
                    while true {
                        _ = try scanner.peek()
                        let start = scanner.index
                        try scanner.skipValue(depth: 1)
                        elements.append(Self.text(buffer, ByteSpan(start: start, end: scanner.index), escaped: false))
                        if try scanner.endOfMember(closing: UInt8(ascii: "]")) { break }
                    }
                }
                scanner.skipWhitespace()
                guard scanner.atEnd else { throw scanner.failure("trailing data after the array") }
                return .success(elements)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The value of the member `name`.
    public subscript(_ name: String) -> Value? {
        members.last { $0.name == name }?.value
    }

    static func text(_ buffer: UnsafeBufferPointer<UInt8>, _ span: ByteSpan, escaped: Bool) -> String {
        let slice = UnsafeBufferPointer(rebasing: buffer[Int(span.start)..<Int(span.end)])
        return escaped ? String(decoding: JSONText.unescape(slice), as: UTF8.self) : String(decoding: slice, as: UTF8.self)
    }
}
