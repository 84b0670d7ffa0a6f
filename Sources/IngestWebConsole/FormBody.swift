/// An `application/x-www-form-urlencoded` body (or query) read into its fields: `+` is a space,
/// `%XX` a byte; a field named twice keeps its first value. Bytes that are not UTF-8 become
/// U+FFFD, and a malformed escape is kept as written.
struct FormBody: Sendable {
    private(set) var fields: [String: String] = [:]

    init(_ bytes: some Sequence<UInt8>) {
        var pairs: [[UInt8]] = [[]]
        for byte in bytes {
            if byte == UInt8(ascii: "&") { pairs.append([]) } else { pairs[pairs.count - 1].append(byte) }
        }
        for pair in pairs where !pair.isEmpty {
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let name = Self.decode(pair[..<equals])
            let value = equals < pair.endIndex ? Self.decode(pair[(equals + 1)...]) : ""
            if fields[name] == nil { fields[name] = value }
        }
    }

    subscript(_ name: String) -> String? { fields[name] }

    static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), bytes.distance(from: index, to: bytes.endIndex) >= 3,
                let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
                continue
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The cookies of a request's `Cookie` header, by name (the first of a name wins).
struct RequestCookies: Sendable {
    private(set) var values: [String: String] = [:]

    init(header: String?) {
        guard let header else { return }
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let name = String(trimmed[..<equals])
            if values[name] == nil { values[name] = String(trimmed[trimmed.index(after: equals)...]) }
        }
    }

    subscript(_ name: String) -> String? { values[name] }
}
