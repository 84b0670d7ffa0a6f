import ArgumentParser
import Foundation

/// API keys from an option or, so they stay out of `ps`, from the environment that
/// `source <data-dir>/credentials.env` (written by `console all-in-one`) sets.
enum Keys {
    static let sensorVariable = "DEEPFENCE_KEY"
    static let adminVariable = "CONSOLE_ADMIN_KEY"

    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The sensor key: `--key`, else `$DEEPFENCE_KEY`.
    static func sensor(_ option: String?) throws -> String {
        guard let key = option ?? environment(sensorVariable) else {
            throw ValidationError("no sensor API key: pass --key or set \(sensorVariable)")
        }
        return key
    }

    /// The admin key: `--admin-key`, else `$CONSOLE_ADMIN_KEY`, else none.
    static func admin(_ option: String?) -> String? {
        option ?? environment(adminVariable)
    }
}
