import Configuration
import Foundation
import IngestCore

/// Where settings come from, in order: command-line options, `CONSOLE_*` environment variables,
/// then the JSON file named by `--config`. Keys are the options' names in camelCase
/// (`--max-body-bytes` → `maxBodyBytes` → `CONSOLE_MAX_BODY_BYTES`).
struct SettingSource {
    let reader: ConfigReader
    /// Problems found while reading (reported together).
    private(set) var problems: [String] = []

    init(flags: [String: String?], configFile: String?) async throws {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for case let (key, value?) in flags {
            values[AbsoluteConfigKey(stringLiteral: key)] = ConfigValue(.string(value), isSecret: key == "databaseURL")
        }
        let prefix = "CONSOLE_"
        let environment = ProcessInfo.processInfo.environment.reduce(into: [String: String]()) { result, entry in
            if entry.key.hasPrefix(prefix) { result[String(entry.key.dropFirst(prefix.count))] = entry.value }
        }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "options", values: values),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ]
        if let configFile = configFile ?? ProcessInfo.processInfo.environment["CONSOLE_CONFIG"] {
            providers.append(try await FileProvider<JSONSnapshot>(filePath: .init(configFile)))
        }
        reader = ConfigReader(providers: providers)
    }

    mutating func appendProblem(_ problem: String) { problems.append(problem) }

    /// The raw text of a setting, whichever provider has it.
    func text(_ key: String) -> String? {
        let configKey = ConfigKey(stringLiteral: key)
        if let value = reader.string(forKey: configKey) { return value }
        if let value = reader.int(forKey: configKey) { return String(value) }
        if let value = reader.double(forKey: configKey) { return String(value) }
        if let value = reader.bool(forKey: configKey) { return String(value) }
        return nil
    }

    mutating func string(_ key: String, flag: String, default value: String) -> String {
        text(key) ?? value
    }

    mutating func int(_ key: String, flag: String, default value: Int) -> Int {
        guard let text = text(key) else { return value }
        guard let number = Int(text) else {
            problems.append("\(flag): '\(text)' is not a whole number")
            return value
        }
        return number
    }

    mutating func duration(_ key: String, flag: String, default value: Duration) -> Duration {
        guard let text = text(key) else { return value }
        guard let duration = SettingText.duration(text) else {
            problems.append("\(flag): '\(text)' is not a duration (like 500ms, 30s, 5m, 26h, 7d)")
            return value
        }
        return duration
    }

    mutating func bytes(_ key: String, flag: String, default value: Int) -> Int {
        guard let text = text(key) else { return value }
        guard let count = SettingText.byteCount(text) else {
            problems.append("\(flag): '\(text)' is not a byte count (like 65536, 64KiB, 8MiB)")
            return value
        }
        return count
    }
}
