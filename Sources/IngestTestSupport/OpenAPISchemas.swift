import Foundation

/// The object schemas of the upstream sensor API excerpt (`../shared/sensor-api/`), read well
/// enough to generate records from them: each schema's properties and their types.
///
/// The file is generated OpenAPI with two-space indentation; this reads `components.schemas`
/// only: per schema its `properties`, each with a `type`, a `$ref`, `items` of an array, or `{}`
/// (any value).
public struct OpenAPISchemas: Sendable {
    /// A property's type.
    public indirect enum PropertyType: Sendable, Hashable {
        case string, integer, number, boolean, any
        case array(PropertyType)
        case reference(String)
    }

    /// Schema name → its properties in file order.
    public let schemas: [String: [(name: String, type: PropertyType)]]

    /// Reads the excerpt from the shared directory (`THREATMAPPER_SHARED` or `../shared`).
    public static func upstream() throws -> OpenAPISchemas {
        let url = SharedFixtures.directory.appendingPathComponent("sensor-api/threatmapper-sensor-api.yaml")
        return try OpenAPISchemas(text: String(contentsOf: url, encoding: .utf8))
    }

    public init(text: String) {
        var schemas: [String: [(name: String, type: PropertyType)]] = [:]
        var inSchemas = false
        var schema: String?
        var inProperties = false
        var property: String?
        var inItems = false
        func indent(_ line: Substring) -> Int { line.prefix { $0 == " " }.count }
        func name(_ text: Substring) -> String {
            String(text.trimmingCharacters(in: .whitespaces).dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        func type(_ value: String) -> PropertyType? {
            switch value {
            case "string": .string
            case "integer": .integer
            case "number": .number
            case "boolean": .boolean
            default: nil
            }
        }
        func set(_ type: PropertyType) {
            guard let schema, let property, let index = schemas[schema]?.lastIndex(where: { $0.name == property }) else { return }
            schemas[schema]![index].type = type
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let depth = indent(line)
            let content = line.trimmingCharacters(in: .whitespaces)
            if depth == 2 { inSchemas = content == "schemas:" }
            guard inSchemas, depth >= 4 else { continue }
            switch depth {
            case 4:
                schema = name(Substring(content))
                schemas[schema!] = []
                inProperties = false
            case 6:
                inProperties = content == "properties:"
                property = nil
            case 8 where inProperties:
                inItems = false
                if content.hasSuffix(": {}") {
                    property = String(content.dropLast(4)).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
                    schemas[schema!]!.append((property!, .any))
                } else if content.hasSuffix(":") {
                    property = name(Substring(content))
                    schemas[schema!]!.append((property!, .any))
                }
            case 10 where inProperties && property != nil:
                if content == "items:" {
                    inItems = true
                    set(.array(.any))
                } else if content.hasPrefix("type: "), let kind = type(String(content.dropFirst(6))) {
                    set(kind)
                } else if content.hasPrefix("$ref: ") {
                    set(.reference(String(content.split(separator: "/").last ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "'\""))))
                }
            case 12 where inProperties && inItems:
                if content.hasPrefix("type: "), let kind = type(String(content.dropFirst(6))) {
                    set(.array(kind))
                } else if content.hasPrefix("$ref: ") {
                    set(.array(.reference(String(content.split(separator: "/").last ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "'\"")))))
                }
            default:
                break
            }
        }
        self.schemas = schemas
    }

    /// A JSON object with every property of `schema` (nested schemas followed), values made
    /// from `seed`, then `overrides` (top-level or dotted names, JSON text values) applied.
    public func record(_ schema: String, seed: Int, overrides: [String: String] = [:]) -> String {
        var object = value(of: schema, seed: seed)
        for (path, json) in overrides {
            let parsed = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
            Self.set(&object, path: path.split(separator: ".").map(String.init), to: parsed ?? NSNull())
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func value(of schema: String, seed: Int) -> [String: Any] {
        var object: [String: Any] = [:]
        for (name, type) in schemas[schema] ?? [] { object[name] = value(type, name: name, seed: seed) }
        return object
    }

    func value(_ type: PropertyType, name: String, seed: Int) -> Any {
        switch type {
        case .string: return "\(name)-\(seed)"
        case .integer: return seed
        case .number: return Double(seed) + 0.5
        case .boolean: return seed % 2 == 0
        case .any: return ["\(name)": "value-\(seed)"]
        case .array(let element): return [value(element, name: name, seed: seed), value(element, name: name, seed: seed + 1)]
        case .reference(let nested): return value(of: nested, seed: seed)
        }
    }

    static func set(_ object: inout [String: Any], path: [String], to value: Any) {
        guard let first = path.first else { return }
        if path.count == 1 {
            object[first] = value
            return
        }
        var nested = object[first] as? [String: Any] ?? [:]
        set(&nested, path: Array(path.dropFirst()), to: value)
        object[first] = nested
    }
}
