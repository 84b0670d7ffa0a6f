import Foundation
import IngestCore

/// Where settings come from, in order: command-line options, `CONSOLE_*` environment variables,
/// then the JSON file named by `--config` (or `CONSOLE_CONFIG`). A setting has one key, and its
/// names elsewhere follow from it (``SettingNames``): `maxBodyBytes` in the file,
/// `--max-body-bytes`, `CONSOLE_MAX_BODY_BYTES`.
///
/// Only the settings of the command being run are taken: a `CONSOLE_*` variable or a file key
/// that names none of them is a problem, reported with the nearest name the command does take
/// (Kubernetes' service-link variables of a `console-…` service are passed over).
struct SettingSource {
    /// Environment variables with the prefix that are not settings: the admin key
    /// `credentials.env` holds (which `fleet` reads), and the file's own variable.
    static let notSettings: Set<String> = ["CONSOLE_ADMIN_KEY", "CONSOLE_CONFIG"]

    /// The keys of the command's settings.
    let keys: Set<String>
    private var options: [String: String] = [:]
    private var environment: [String: String] = [:]
    private var file: [String: String] = [:]
    /// Problems found while reading (reported together).
    private(set) var problems: [String] = []
    /// Accepted, but to be changed (former environment names).
    private(set) var warnings: [String] = []

    /// `flags` holds every setting of the command by key, nil where the option was not given.
    init(command: String, flags: [String: String?], configFile: String?,
         environment variables: [String: String] = ProcessInfo.processInfo.environment) {
        keys = Set(flags.keys)
        for case let (key, value?) in flags { options[key] = value }

        var byName: [String: String] = [:]
        var former: [String: String] = [:]
        for key in keys {
            byName[SettingNames.environment(ofKey: key)] = key
            former[SettingNames.formerEnvironment(ofKey: key)] = key
        }
        for (name, value) in variables.sorted(by: { $0.key < $1.key })
        where name.hasPrefix(SettingNames.environmentPrefix) && !Self.notSettings.contains(name) {
            if SettingNames.isKubernetesServiceLink(name: name, value: value) {
                // Even one named like a setting (a service named `console` makes CONSOLE_PORT=tcp://…).
                if byName[name] != nil {
                    warnings.append("\(name)=\(value.prefix(40)) looks like a Kubernetes service link, not a setting: passed over (set enableServiceLinks: false)")
                }
            } else if let key = byName[name] {
                environment[key] = value
            } else if let key = former[name] {
                let current = SettingNames.environment(ofKey: key)
                if variables[current] == nil { environment[key] = value }
                warnings.append("\(name) is the former name of \(current); it is still read, rename it")
            } else {
                problems.append("\(name): `console \(command)` has no such setting"
                    + Self.hint(SettingNames.nearest(name, among: byName.keys)))
            }
        }

        if let path = configFile ?? variables["CONSOLE_CONFIG"] { readFile(path, command: command) }
    }

    static func hint(_ nearest: String?) -> String { nearest.map { " (did you mean \($0)?)" } ?? "" }

    /// A JSON file's settings: one object, each member a setting's key with a string, number or
    /// boolean (`placement`: also an array of strings).
    private mutating func readFile(_ path: String, command: String) {
        guard let data = FileManager.default.contents(atPath: path) else {
            problems.append("--config: cannot read \(path)")
            return
        }
        let members: [String: FileValue]
        do {
            members = try JSONDecoder().decode([String: FileValue].self, from: data)
        } catch {
            problems.append("--config \(path): not a JSON object of settings (strings, numbers, booleans)")
            return
        }
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            guard keys.contains(key) else {
                problems.append("--config \(path): \"\(key)\": `console \(command)` has no such setting"
                    + Self.hint(SettingNames.nearest(key, among: keys).map { "\"\($0)\"" }))
                continue
            }
            file[key] = value.text
        }
    }

    /// One member's value in the file, as the text an option would carry.
    struct FileValue: Decodable {
        let text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self.text = text
            } else if let flag = try? container.decode(Bool.self) {
                text = String(flag)
            } else if let number = try? container.decode(Int.self) {
                text = String(number)
            } else if let number = try? container.decode(Double.self) {
                text = String(number)
            } else {
                text = try container.decode([String].self).joined(separator: " ")
            }
        }
    }

    mutating func appendProblem(_ problem: String) { problems.append(problem) }

    /// The raw text of a setting, from the first place that has it.
    /// nil for a setting the command does not take (it cannot be given).
    func text(_ key: String) -> String? {
        options[key] ?? environment[key] ?? file[key]
    }

    func string(_ key: String, default value: String) -> String {
        text(key) ?? value
    }

    mutating func int(_ key: String, default value: Int) -> Int {
        parsed(key, default: value, as: "a whole number") { Int($0) }
    }

    mutating func duration(_ key: String, default value: Duration) -> Duration {
        parsed(key, default: value, as: "a duration (like 500ms, 30s, 5m, 26h, 7d)", SettingText.duration)
    }

    mutating func bytes(_ key: String, default value: Int) -> Int {
        parsed(key, default: value, as: "a byte count (like 65536, 64KiB, 8MiB)", SettingText.byteCount)
    }

    /// The setting read with `parse`, its default when not given, or the default and a problem
    /// naming the option when its text is not `what`.
    private mutating func parsed<T>(_ key: String, default value: T, as what: String, _ parse: (String) -> T?) -> T {
        guard let text = text(key) else { return value }
        guard let parsed = parse(text) else {
            problems.append("\(SettingNames.option(ofKey: key)): '\(text)' is not \(what)")
            return value
        }
        return parsed
    }
}
