/// Reads an SBOM upload (`POST /deepfence/ingest/sbom`, upstream `UtilsScanSbomRequest`: a JSON
/// object whose `sbom` member is the base64 of a gzipped SBOM) in pieces, in bounded memory: the
/// other members are kept (strings up to ``maxFieldBytes``, booleans), and `sbom` is decoded as
/// it streams by and handed back chunk by chunk.
///
/// ## Implementation
/// A byte-at-a-time state machine over one JSON object: member names, string values (with their
/// escapes), literals, and nested values (skipped, counting brackets and strings). Inside
/// `sbom`, base64 characters are decoded four at a time; the escapes a JSON encoder may use in
/// base64 text (`\/`, and `\n`/`\r` of wrapped lines, skipped) are taken, anything else is an
/// error.
public struct SBOMUploadReader: Sendable {
    /// The members other than `sbom`.
    public struct Fields: Sendable, Hashable {
        public var strings: [String: String] = [:]
        public var booleans: [String: Bool] = [:]
        /// Whether an `sbom` member was present.
        public var hasSBOM = false
        /// Bytes `sbom` decoded to.
        public var sbomBytes = 0
    }

    enum State: Sendable {
        case start, beforeName, inName, afterName, beforeValue, inString, inLiteral, inNested, afterValue, done
    }

    public let maxFieldBytes: Int
    var state = State.start
    var name: [UInt8] = []
    var value: [UInt8] = []
    var escaped = false
    /// A `\u` escape being read: its hex digits so far (nil: none).
    var unicode: [UInt8]?
    var nestedDepth = 0
    var nestedInString = false
    var nestedEscaped = false
    /// The base64 group of four being read: its bits, its characters so far, its `=`; and
    /// whether the text is padded (nothing may follow).
    var group: UInt32 = 0
    var groupCount = 0
    var pads = 0
    var padded = false
    /// Whether a member was read (an empty object is `{}`; `{"a":1,}` is not JSON).
    var sawMember = false
    public private(set) var fields = Fields()

    public init(maxFieldBytes: Int = 4096) { self.maxFieldBytes = maxFieldBytes }

    /// Whether the member being read is `sbom` (set when its name ends).
    var inSBOM = false

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    func failure(_ detail: String) -> IngestError { .invalidRequest("SBOM upload: \(detail)") }

    /// Feeds the next piece of the body; returns the SBOM bytes it decoded.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(IngestError) -> [UInt8] {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count * 3 / 4 + 3)
        var index = 0
        while index < bytes.count {
            if case .inString = state, inSBOM, !escaped, !padded {
                // The bulk of an upload: a run of base64 characters, decoded in a tight loop.
                while index < bytes.count {
                    let sextet = Self.alphabet[Int(bytes[index])]
                    if sextet == 0xFF { break }
                    group = group << 6 | UInt32(sextet)
                    groupCount += 1
                    if groupCount == 4 {
                        decoded.append(UInt8(truncatingIfNeeded: group >> 16))
                        decoded.append(UInt8(truncatingIfNeeded: group >> 8))
                        decoded.append(UInt8(truncatingIfNeeded: group))
                        fields.sbomBytes += 3
                        group = 0
                        groupCount = 0
                    }
                    index += 1
                }
                if index == bytes.count { break }
            }
            try step(bytes[index], into: &decoded)
            index += 1
        }
        return decoded
    }

    /// The members, once the whole object was fed.
    public func finish() throws(IngestError) -> Fields {
        guard case .done = state else { throw failure("the body ends before its JSON object does") }
        return fields
    }

    mutating func step(_ byte: UInt8, into decoded: inout [UInt8]) throws(IngestError) {
        switch state {
        case .start:
            if Self.isSpace(byte) { return }
            guard byte == UInt8(ascii: "{") else { throw failure("the body must be a JSON object") }
            state = .beforeName
        case .beforeName:
            if Self.isSpace(byte) { return }
            if byte == UInt8(ascii: "}") && !sawMember {
                state = .done
                return
            }
            guard byte == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            name = []
            escaped = false
            sawMember = true
            state = .inName
        case .inName:
            if escaped {
                escaped = false
                name.append(byte)
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                state = .afterName
            } else {
                guard name.count < 256 else { throw failure("a member name is longer than 256 bytes") }
                name.append(byte)
            }
        case .afterName:
            if Self.isSpace(byte) { return }
            guard byte == UInt8(ascii: ":") else { throw failure("expected ':'") }
            inSBOM = name == Array("sbom".utf8)
            state = .beforeValue
        case .beforeValue:
            if Self.isSpace(byte) { return }
            value = []
            escaped = false
            unicode = nil
            switch byte {
            case UInt8(ascii: "\""):
                if inSBOM {
                    fields.hasSBOM = true
                    (group, groupCount, pads, padded) = (0, 0, 0, false)
                }
                state = .inString
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                nestedDepth = 1
                nestedInString = false
                nestedEscaped = false
                state = .inNested
            default:
                value = [byte]
                state = .inLiteral
            }
        case .inString:
            if inSBOM { return try sbomStep(byte, into: &decoded) }
            if let digits = unicode {
                unicode = digits + [byte]
                if unicode!.count == 4 {
                    let scalar = UInt32(String(decoding: unicode!, as: UTF8.self), radix: 16).flatMap(Unicode.Scalar.init) ?? "\u{FFFD}"
                    value += Array(String(Character(scalar)).utf8)
                    unicode = nil
                }
            } else if escaped {
                escaped = false
                switch byte {
                case UInt8(ascii: "n"): value.append(0x0A)
                case UInt8(ascii: "t"): value.append(0x09)
                case UInt8(ascii: "r"): value.append(0x0D)
                case UInt8(ascii: "b"): value.append(0x08)
                case UInt8(ascii: "f"): value.append(0x0C)
                case UInt8(ascii: "u"): unicode = []
                default: value.append(byte)
                }
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                fields.strings[String(decoding: name, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
                state = .afterValue
            } else {
                value.append(byte)
            }
            if value.count > maxFieldBytes { throw failure("member \(String(decoding: name, as: UTF8.self)) is longer than \(maxFieldBytes) bytes") }
        case .inLiteral:
            if Self.isSpace(byte) || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") {
                let text = String(decoding: value, as: UTF8.self)
                let key = String(decoding: name, as: UTF8.self)
                switch text {
                case "true": fields.booleans[key] = true
                case "false": fields.booleans[key] = false
                case "null": break
                default:
                    guard Double(text) != nil else { throw failure("member \(key) is not a JSON value") }
                    fields.strings[key] = text
                }
                if inSBOM && text != "null" { throw failure("sbom must be a string") }
                state = .afterValue
                try step(byte, into: &decoded)
            } else {
                guard value.count < 64 else { throw failure("a literal is longer than 64 bytes") }
                value.append(byte)
            }
        case .inNested:
            if nestedInString {
                if nestedEscaped { nestedEscaped = false } else if byte == UInt8(ascii: "\\") { nestedEscaped = true } else if byte == UInt8(ascii: "\"") { nestedInString = false }
            } else if byte == UInt8(ascii: "\"") {
                nestedInString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                nestedDepth += 1
                guard nestedDepth <= 64 else { throw .jsonTooDeep(limit: 64, setting: nil) }
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                nestedDepth -= 1
                if nestedDepth == 0 {
                    if inSBOM { throw failure("sbom must be a string") }
                    state = .afterValue
                }
            }
        case .afterValue:
            if Self.isSpace(byte) { return }
            if byte == UInt8(ascii: ",") {
                state = .beforeName
            } else if byte == UInt8(ascii: "}") {
                state = .done
            } else {
                throw failure("expected ',' or '}'")
            }
        case .done:
            guard Self.isSpace(byte) else { throw failure("trailing data after the JSON object") }
        }
    }

    /// One byte of the `sbom` string.
    mutating func sbomStep(_ byte: UInt8, into decoded: inout [UInt8]) throws(IngestError) {
        if escaped {
            escaped = false
            switch byte {
            case UInt8(ascii: "/"): return try base64(byte, into: &decoded)
            case UInt8(ascii: "n"), UInt8(ascii: "r"): return
            default: throw failure("sbom: an escape other than \\/, \\n or \\r in base64 text")
            }
        }
        switch byte {
        case UInt8(ascii: "\\"): escaped = true
        case UInt8(ascii: "\""):
            guard groupCount == 0 else { throw failure("sbom: base64 text whose length is not a multiple of 4") }
            state = .afterValue
        default: try base64(byte, into: &decoded)
        }
    }

    static let alphabet: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        return table
    }()

    mutating func base64(_ byte: UInt8, into decoded: inout [UInt8]) throws(IngestError) {
        if byte == UInt8(ascii: "=") {
            guard groupCount >= 2 else { throw failure("sbom: misplaced base64 padding") }
            pads += 1
            padded = true
            group <<= 6
        } else {
            let sextet = Self.alphabet[Int(byte)]
            guard sextet != 0xFF, !padded else { throw failure("sbom: not base64 text") }
            group = group << 6 | UInt32(sextet)
        }
        groupCount += 1
        if groupCount == 4 { flushGroup(into: &decoded) }
    }

    mutating func flushGroup(into decoded: inout [UInt8]) {
        let count = 3 - pads
        decoded.append(UInt8(truncatingIfNeeded: group >> 16))
        if count > 1 { decoded.append(UInt8(truncatingIfNeeded: group >> 8)) }
        if count > 2 { decoded.append(UInt8(truncatingIfNeeded: group)) }
        fields.sbomBytes += count
        group = 0
        groupCount = 0
        pads = 0
    }
}
