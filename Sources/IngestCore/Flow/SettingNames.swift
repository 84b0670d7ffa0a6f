/// How one setting is named in each place it can be given, derived from its key so that no
/// name is written twice: the key (camelCase, the JSON file's member) `http2ResetLimit`, the
/// option `--http2-reset-limit`, the environment variable `CONSOLE_HTTP2_RESET_LIMIT`.
///
/// A key splits into words where a lower-case letter or a digit meets an upper-case one, and
/// where a run of capitals meets a capitalised word; a run of capitals is one word
/// (`databaseURL` → `database`, `url`).
public enum SettingNames {
    public static let environmentPrefix = "CONSOLE_"

    /// The words of `key`, lower-cased.
    public static func words(ofKey key: String) -> [String] {
        let characters = Array(key)
        var words: [String] = []
        var word = ""
        for (index, character) in characters.enumerated() {
            if !word.isEmpty, character.isUppercase {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) {
                    words.append(word)
                    word = ""
                }
            }
            word.append(character)
        }
        if !word.isEmpty { words.append(word) }
        return words.map { $0.lowercased() }
    }

    /// `--http2-reset-limit` for `http2ResetLimit`.
    public static func option(ofKey key: String) -> String { "--" + words(ofKey: key).joined(separator: "-") }

    /// `CONSOLE_HTTP2_RESET_LIMIT` for `http2ResetLimit`.
    public static func environment(ofKey key: String) -> String {
        environmentPrefix + words(ofKey: key).joined(separator: "_").uppercased()
    }

    /// The environment name a key had before names were derived word by word: an underscore
    /// only where a lower-case letter met an upper-case one (`CONSOLE_HTTP2RESET_LIMIT`). It is
    /// still read, with a warning, where it differs from ``environment(ofKey:)``.
    public static func formerEnvironment(ofKey key: String) -> String {
        var name = ""
        var previous: Character?
        for character in key {
            if let previous, previous.isLowercase, character.isUppercase { name.append("_") }
            name.append(character)
            previous = character
        }
        return environmentPrefix + name.uppercased()
    }

    /// Whether an environment variable is one Kubernetes puts in every pod for each service of
    /// its namespace (service links: `CONSOLE_GATEWAY_SERVICE_HOST`, `CONSOLE_GATEWAY_PORT=tcp://…`,
    /// `CONSOLE_GATEWAY_PORT_443_TCP_ADDR`), so a service named `console-…` makes `CONSOLE_…`
    /// variables that are not settings. One may even look like a setting: a service named
    /// `console` makes `CONSOLE_PORT=tcp://…`, which the value tells apart.
    public static func isKubernetesServiceLink(name: String, value: String) -> Bool {
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return false }
        if parts.suffix(2) == ["SERVICE", "HOST"] { return true }
        if let service = parts.lastIndex(of: "SERVICE"), parts.index(after: service) < parts.endIndex,
           parts[parts.index(after: service)] == "PORT" {
            return true
        }
        // …_PORT_443_TCP, …_PORT_443_TCP_PROTO, _PORT and _ADDR: a PORT word followed by a
        // number and a transport.
        for (index, part) in parts.enumerated() where part == "PORT" && index + 2 < parts.count {
            if Int(parts[index + 1]) != nil && ["TCP", "UDP", "SCTP"].contains(parts[index + 2]) { return true }
        }
        // …_PORT=tcp://10.0.0.7:443
        if parts.last == "PORT" { return ["tcp://", "udp://", "sctp://"].contains { value.hasPrefix($0) } }
        return false
    }

    /// The candidate closest to `name` by edit distance (case ignored), if it is close enough
    /// to be what was meant: at most a third of the name's length away, and at least 2.
    public static func nearest(_ name: String, among candidates: some Sequence<String>) -> String? {
        let target = Array(name.lowercased())
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.lowercased()))
            if best == nil || distance < best!.distance || (distance == best!.distance && candidate < best!.name) {
                best = (candidate, distance)
            }
        }
        guard let best, best.distance <= max(2, target.count / 3) else { return nil }
        return best.name
    }

    /// Levenshtein distance: insertions, deletions and substitutions.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
