import Foundation

/// A JSON value the operator service answered with, read for display: a missing or mistyped
/// field reads as nil or empty, never as a failure, since a sensor's metadata may hold anything.
struct JSONTree {
    let value: Any?

    init(_ value: Any?) { self.value = value }

    /// Parses JSON text; an unparsable text reads as null.
    init(parsing text: String) {
        value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    subscript(_ name: String) -> JSONTree { JSONTree((value as? [String: Any])?[name]) }

    /// The elements of an array (empty otherwise).
    var array: [JSONTree] { (value as? [Any])?.map(JSONTree.init) ?? [] }

    /// The members of an object, in key order.
    var members: [(key: String, value: JSONTree)] {
        ((value as? [String: Any]) ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, JSONTree($0.value)) }
    }

    var string: String? { value as? String }

    /// A JSON true or false: JSONSerialization gives it as an NSNumber of type `c` (a number 0 or
    /// 1 would also cast to Bool, so the cast alone cannot tell them apart).
    var bool: Bool? {
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else { return nil }
        return number.boolValue
    }

    var int: Int? {
        guard bool == nil, let number = value as? NSNumber else { return nil }
        return number.intValue
    }

    var isNull: Bool { value == nil || value is NSNull }

    /// The value as one line of text to show: a string as it is, a number or bool as written,
    /// anything else as compact JSON.
    var text: String {
        switch value {
        case nil, is NSNull: return ""
        case let string as String: return string
        case let number as NSNumber:
            return bool.map { $0 ? "true" : "false" } ?? number.stringValue
        case let other?:
            guard JSONSerialization.isValidJSONObject(other),
                let data = try? JSONSerialization.data(withJSONObject: other, options: [.sortedKeys, .withoutEscapingSlashes])
            else { return "" }
            return String(decoding: data, as: UTF8.self)
        }
    }
}
