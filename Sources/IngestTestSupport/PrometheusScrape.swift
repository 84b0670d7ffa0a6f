/// The samples of one `/metrics` answer in the Prometheus text format, for tests that watch
/// counters move: each series by its name and labels as printed (`name{a="b"}`).
public struct PrometheusScrape: Sendable {
    public let samples: [String: Double]

    public init(text: String) {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        self.samples = samples
    }

    /// The sum of every series of metric `name` whose labels include all of `labels`.
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.reduce(0) { total, sample in
            let key = sample.key
            let base = key.firstIndex(of: "{").map { String(key[..<$0]) } ?? key
            guard base == name, labels.allSatisfy({ key.contains("\($0.key)=\"\($0.value)\"") }) else { return total }
            return total + sample.value
        }
    }

    /// Whether the scrape holds any series of metric `name`.
    public func has(_ name: String) -> Bool {
        samples.keys.contains { $0 == name || $0.hasPrefix(name + "{") }
    }
}
