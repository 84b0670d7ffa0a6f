/// Parses the text forms of settings: durations (`500ms`, `30s`, `5m`, `26h`, `7d`, or plain
/// seconds) and byte counts (`65536`, `64KiB`, `8MiB`, `1GiB`, also `KB`/`MB`/`GB` as powers of 1000).
public enum SettingText {
    /// A duration, or nil if the text is not one.
    public static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingSpaces
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            guard let value = Double(trimmed.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            return .milliseconds(Int64((value * seconds * 1000).rounded()))
        }
        guard let value = Double(trimmed), value >= 0, value.isFinite else { return nil }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// A byte count, or nil if the text is not one.
    public static func byteCount(_ text: String) -> Int? {
        let trimmed = text.trimmingSpaces
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
        ]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let value = Int(trimmed.dropLast(suffix.count).trimmingSpaces), value >= 0 else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        guard let value = Int(trimmed), value >= 0 else { return nil }
        return value
    }
}

extension SettingText {
    /// PostgreSQL server settings, `name=value,name=value`, or a message naming the bad part.
    /// Names are lower-case identifiers (`max_wal_size`); values are letters, digits and
    /// `_ . : / -` only, because they end up on the server's command line.
    public static func serverSettings(_ text: String) -> Result<[(name: String, value: String)], SettingProblem> {
        var settings: [(name: String, value: String)] = []
        for part in text.split(separator: ",").map(\.trimmingSpaces) where !part.isEmpty {
            guard let equals = part.firstIndex(of: "=") else { return .failure(SettingProblem("\(part): expected name=value")) }
            let name = String(part[..<equals]).trimmingSpaces
            let value = String(part[part.index(after: equals)...]).trimmingSpaces
            guard !name.isEmpty, name.utf8.allSatisfy({ (0x61...0x7A).contains($0) || $0 == 0x5F || $0 == 0x2E }) else {
                return .failure(SettingProblem("\(part): a setting name is lower-case letters, _ and ."))
            }
            guard !value.isEmpty, value.utf8.allSatisfy({ byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || "_.:/-".utf8.contains(byte)
            }) else {
                return .failure(SettingProblem("\(part): a value is letters, digits and _ . : / - only"))
            }
            settings.append((name, value))
        }
        return .success(merging([], settings))
    }

    /// `settings` with each of `overrides` replacing the setting of its name (or added); of
    /// repeated names the last one counts.
    public static func merging(
        _ settings: [(name: String, value: String)], _ overrides: [(name: String, value: String)]
    ) -> [(name: String, value: String)] {
        var merged = settings
        for override in overrides {
            merged.removeAll { $0.name == override.name }
            merged.append(override)
        }
        return merged
    }
}

/// What is wrong with a setting's text.
public struct SettingProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
