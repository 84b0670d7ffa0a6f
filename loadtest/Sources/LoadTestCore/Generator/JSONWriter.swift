/// Appends JSON text to a byte buffer without building values first: the generator writes a
/// 140 KB report in a fraction of a millisecond. Commas are placed automatically.
public struct JSONWriter {
    public private(set) var bytes: [UInt8]
    /// Per open container: whether it already has a member or element.
    var hasItems: [Bool] = []
    /// A member name was just written; its value needs no comma.
    var afterKey = false

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A writer for a fragment that continues a document: `open` lists the containers open
    /// where the fragment starts, outermost first, and whether each already holds an item (the
    /// fragment's first member then starts with a comma). It may close them.
    public init(capacity: Int, continuing open: [Bool]) {
        self.init(capacity: capacity)
        hasItems = open
    }

    @inline(__always) mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Before a value or a member name: a comma unless it is the first in its container.
    @inline(__always) mutating func prefix() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = hasItems.last {
            if last { bytes.append(UInt8(ascii: ",")) } else { hasItems[hasItems.count - 1] = true }
        }
    }

    public mutating func beginObject() {
        prefix()
        bytes.append(UInt8(ascii: "{"))
        hasItems.append(false)
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        hasItems.removeLast()
    }

    public mutating func beginArray() {
        prefix()
        bytes.append(UInt8(ascii: "["))
        hasItems.append(false)
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        hasItems.removeLast()
    }

    /// A member name; the next value (or container) is its value.
    public mutating func key(_ name: String) {
        prefix()
        string(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func value(_ text: String) {
        prefix()
        string(text)
    }

    public mutating func value(_ number: Int) {
        prefix()
        bytes.append(contentsOf: String(number).utf8)
    }

    /// A number with at most three decimals.
    public mutating func value(_ number: Double) {
        prefix()
        let thousandths = Int((number * 1000).rounded())
        if thousandths % 1000 == 0 {
            bytes.append(contentsOf: String(thousandths / 1000).utf8)
        } else {
            bytes.append(contentsOf: String(Double(thousandths) / 1000).utf8)
        }
    }

    public mutating func value(_ flag: Bool) {
        prefix()
        if flag { raw("true") } else { raw("false") }
    }

    public mutating func member(_ name: String, _ text: String) {
        key(name)
        value(text)
    }

    public mutating func member(_ name: String, _ number: Int) {
        key(name)
        value(number)
    }

    public mutating func member(_ name: String, _ number: Double) {
        key(name)
        value(number)
    }

    public mutating func member(_ name: String, _ flag: Bool) {
        key(name)
        value(flag)
    }

    public mutating func member(_ name: String, strings: [String]) {
        key(name)
        beginArray()
        for text in strings { value(text) }
        endArray()
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Whether a byte of a string must be written escaped.
    @inline(__always) static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Nearly every string needs no escape: copied in one append, not byte by byte.
        var text = text
        let copied = text.withUTF8 { utf8 -> Bool in
            guard !utf8.contains(where: Self.needsEscape) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if !copied {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                case 0..<0x20:
                    raw("\\u00")
                    bytes.append(Self.hex[Int(byte >> 4)])
                    bytes.append(Self.hex[Int(byte & 15)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
