/// A validating, allocation-free JSON scanner over a byte buffer.
///
/// It accepts exactly RFC 8259 JSON (strings, numbers, literals, nesting up to a depth limit),
/// plus two restrictions PostgreSQL's `jsonb` imposes, so that any object it accepts can be
/// stored as-is: no `\u0000` escape and no unpaired surrogate escape. Invalid UTF-8 is not
/// checked here; text is decoded with replacement characters when it is stored.
///
/// Strings are scanned eight bytes at a time (SWAR): one 64-bit load finds the first quote,
/// backslash or control byte, which is what lets the report parser skip ~140 KB of fixture in
/// tens of microseconds.
@usableFromInline
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    let maxDepth: Int
    /// The longest string (member names included), in bytes as sent (escapes unexpanded).
    let maxStringBytes: Int
    /// The flags that set the two bounds, named in their errors (nil: the bounds are fixed).
    let settings: (depth: String, string: String)?
    var index: Int

    init(
        _ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int, maxStringBytes: Int = .max,
        settings: (depth: String, string: String)? = nil
    ) {
        // An empty buffer still needs a valid pointer: offsets are never dereferenced then.
        self.base = buffer.baseAddress ?? UnsafePointer(bitPattern: 0x10)!
        self.end = buffer.count
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.settings = settings
        self.index = 0
    }

    // MARK: Bytes

    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")

    @inline(__always) var atEnd: Bool { index >= end }
    @inline(__always) var current: UInt8 { base[index] }

    @inline(__always)
    func failure(_ what: String) -> IngestError {
        .malformedJSON("\(what) at byte \(index)")
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < end {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Skips whitespace and returns the next byte without consuming it.
    @inline(__always)
    mutating func peek() throws(IngestError) -> UInt8 {
        skipWhitespace()
        guard index < end else { throw failure("unexpected end of input") }
        return base[index]
    }

    @inline(__always)
    mutating func expect(_ byte: UInt8, _ what: String) throws(IngestError) {
        guard try peek() == byte else { throw failure("expected \(what)") }
        index += 1
    }

    // MARK: Strings

    /// A mask with the high bit set in each byte of `word` that is a quote, a backslash or a
    /// control character; only its lowest set bit is exact, which is all the scanner uses.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ 0x2222_2222_2222_2222
        let slashes = word ^ 0x5C5C_5C5C_5C5C_5C5C
        let q = (quotes &- ones) & ~quotes
        let s = (slashes &- ones) & ~slashes
        let c = (word &- 0x2020_2020_2020_2020) & ~word
        return (q | s | c) & highs
    }

    /// Scans a string starting at its opening quote; returns the span of its content and
    /// whether it holds escapes. Leaves the index after the closing quote.
    @inline(__always)
    mutating func scanString() throws(IngestError) -> (span: ByteSpan, escaped: Bool) {
        index += 1
        let start = index
        var escaped = false
        while true {
            while index + 8 <= end {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let mask = Self.specialBytes(word)
                if mask != 0 {
                    index += mask.trailingZeroBitCount >> 3
                    break
                }
                index += 8
            }
            guard index < end else { throw failure("unterminated string") }
            let byte = base[index]
            if byte == Self.quote {
                guard index - start <= maxStringBytes else {
                    throw IngestError.stringTooLong(limit: maxStringBytes, setting: settings?.string)
                }
                let span = ByteSpan(start: start, end: index)
                index += 1
                return (span, escaped)
            } else if byte == Self.backslash {
                escaped = true
                try scanEscape()
            } else if byte < 0x20 {
                throw failure("control character in string")
            } else {
                index += 1
            }
        }
    }

    /// Validates one escape sequence at the index (a backslash) and steps over it.
    mutating func scanEscape() throws(IngestError) {
        guard index + 1 < end else { throw failure("unterminated escape") }
        switch base[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            let unit = try hexUnit(at: index + 2)
            index += 6
            if unit == 0 {
                throw IngestError.malformedJSON("\\u0000 (NUL) in a string at byte \(index - 6) cannot be stored")
            }
            if (0xDC00...0xDFFF).contains(unit) { throw failure("unpaired surrogate escape") }
            if (0xD800...0xDBFF).contains(unit) {
                guard index + 6 <= end, base[index] == Self.backslash, base[index + 1] == UInt8(ascii: "u"),
                    (0xDC00...0xDFFF).contains(try hexUnit(at: index + 2))
                else { throw failure("unpaired surrogate escape") }
                index += 6
            }
        default:
            throw failure("invalid escape")
        }
    }

    func hexUnit(at position: Int) throws(IngestError) -> UInt32 {
        guard position + 4 <= end else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = JSONText.hexValue(base[position + k]) else { throw failure("invalid \\u escape") }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    // MARK: Values

    /// Validates and skips one value of any kind.
    mutating func skipValue(depth: Int) throws(IngestError) {
        switch try peek() {
        case Self.quote: _ = try scanString()
        case UInt8(ascii: "{"): try skipObject(depth: depth + 1)
        case UInt8(ascii: "["): try skipArray(depth: depth + 1)
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw failure("unexpected character")
        }
    }

    mutating func skipObject(depth: Int) throws(IngestError) {
        guard depth <= maxDepth else { throw IngestError.jsonTooDeep(limit: maxDepth, setting: settings?.depth) }
        index += 1
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard try peek() == Self.quote else { throw failure("expected a member name") }
            _ = try scanString()
            try expect(UInt8(ascii: ":"), "':'")
            try skipValue(depth: depth)
            if try endOfMember(closing: UInt8(ascii: "}")) { return }
        }
    }

    mutating func skipArray(depth: Int) throws(IngestError) {
        guard depth <= maxDepth else { throw IngestError.jsonTooDeep(limit: maxDepth, setting: settings?.depth) }
        index += 1
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try skipValue(depth: depth)
            if try endOfMember(closing: UInt8(ascii: "]")) { return }
        }
    }

    /// After a member or element: consumes a comma (returns false) or the closing byte (true).
    @inline(__always)
    mutating func endOfMember(closing: UInt8) throws(IngestError) -> Bool {
        let byte = try peek()
        index += 1
        if byte == UInt8(ascii: ",") { return false }
        if byte == closing { return true }
        index -= 1
        throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))'")
    }

    mutating func skipLiteral(_ literal: StaticString) throws(IngestError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= end else { throw failure("truncated literal") }
        let text = literal.utf8Start
        for k in 0..<count where base[index + k] != text[k] {
            throw failure("invalid literal")
        }
        index += count
    }

    mutating func skipNumber() throws(IngestError) {
        if base[index] == UInt8(ascii: "-") { index += 1 }
        guard index < end else { throw failure("truncated number") }
        if base[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard skipDigits() else { throw failure("invalid number") }
        }
        if index < end, base[index] == UInt8(ascii: ".") {
            index += 1
            guard skipDigits() else { throw failure("invalid number") }
        }
        if index < end, base[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < end, base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() else { throw failure("invalid number") }
        }
    }

    /// Skips one or more digits; false if there was none.
    @inline(__always)
    mutating func skipDigits() -> Bool {
        let start = index
        while index < end, base[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        return index > start
    }

    // MARK: Names

    /// Whether the span holds exactly the bytes of `name`.
    @inline(__always)
    func span(_ span: ByteSpan, is name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        guard span.count == count else { return false }
        let text = name.utf8Start
        let start = Int(span.start)
        for k in 0..<count where base[start + k] != text[k] { return false }
        return true
    }
}
