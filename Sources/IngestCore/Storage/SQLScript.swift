/// Splits an SQL script into single statements.
///
/// PostgreSQL's extended query protocol (the only one PostgresNIO speaks) takes one statement
/// per query, so migration files are split here. The splitter knows the lexical forms that may
/// contain a semicolon without ending a statement: `'…'` strings (with `''`), `"…"`
/// identifiers, `$tag$…$tag$` dollar quotes, `-- …` line comments and nested `/* … */` comments.
public enum SQLScript {
    /// The statements of `script`, trimmed, without empty ones (comments alone count as empty).
    public static func statements(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        var hasCode = false
        func flush(_ end: Int) {
            if hasCode {
                let text = String(decoding: bytes[start..<end], as: UTF8.self)
                statements.append(trim(text))
            }
            start = end + 1
            hasCode = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                hasCode = true
                index = skipQuoted(bytes, from: index, quote: byte)
                continue
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index = skipBlockComment(bytes, from: index)
                continue
            case UInt8(ascii: "$"):
                hasCode = true
                if let tagEnd = dollarTagEnd(bytes, from: index) {
                    let tag = Array(bytes[index...tagEnd])
                    index = skipDollarQuoted(bytes, bodyFrom: tagEnd + 1, tag: tag)
                    continue
                }
            case UInt8(ascii: ";"):
                flush(index)
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                break
            default:
                hasCode = true
            }
            index += 1
        }
        flush(bytes.count)
        return statements
    }

    static func trim(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }

    static func skipQuoted(_ bytes: [UInt8], from start: Int, quote: UInt8) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == quote {
                if index + 1 < bytes.count && bytes[index + 1] == quote {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return index
    }

    static func skipBlockComment(_ bytes: [UInt8], from start: Int) -> Int {
        var depth = 0
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "/") && bytes[index + 1] == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else if bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/") {
                depth -= 1
                index += 2
                if depth == 0 { return index }
            } else {
                index += 1
            }
        }
        return bytes.count
    }

    /// The index of the closing `$` of a dollar-quote tag starting at `start`, if it is one.
    static func dollarTagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        if start > 0 {
            let previous = bytes[start - 1]
            // `$1` parameters and identifiers containing `$` are not quotes.
            if isIdentifier(previous) { return nil }
        }
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "$") { return index }
            if !isIdentifier(byte) || (index == start + 1 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) {
                return nil
            }
            index += 1
        }
        return nil
    }

    static func skipDollarQuoted(_ bytes: [UInt8], bodyFrom start: Int, tag: [UInt8]) -> Int {
        var index = start
        while index + tag.count <= bytes.count {
            if bytes[index] == UInt8(ascii: "$") && Array(bytes[index..<index + tag.count]) == tag {
                return index + tag.count
            }
            index += 1
        }
        return bytes.count
    }

    static func isIdentifier(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte >= 0x80
    }
}
