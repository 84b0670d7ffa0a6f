/// What a share of the fleet's sensors do besides topology: run the scans the console starts and
/// ship their results the way ThreatMapper's shippers do.
public struct ScanLoad: Codable, Sendable, Hashable {
    /// Share of host sensors that run scans (0.1: one in ten).
    public var share: Double
    /// Findings each scan produces (default 500).
    public var findingsPerScan: Int?
    /// Findings a scan produces per second while it runs (default 50).
    public var findingsPerSecond: Double?
    /// How often the fleet asks the console to start a scan on each scanning sensor (default 60s).
    public var every: String?

    public init(share: Double, findingsPerScan: Int? = nil, findingsPerSecond: Double? = nil, every: String? = nil) {
        self.share = share
        self.findingsPerScan = findingsPerScan
        self.findingsPerSecond = findingsPerSecond
        self.every = every
    }

    public var findings: Int { findingsPerScan ?? 500 }
    public var rate: Double { findingsPerSecond ?? 50 }
    public var interval: Double { every.flatMap(Scenario.seconds) ?? 60 }

    /// Why it cannot run, if it cannot.
    public func validate() -> String? {
        if !(0...1).contains(share) { return "scans.share must be between 0 and 1" }
        if findings < 1 { return "scans.findingsPerScan must be at least 1" }
        if rate <= 0 { return "scans.findingsPerSecond must be more than 0" }
        if every.map({ Scenario.seconds($0) == nil }) ?? false { return "scans.every '\(every!)' is not a duration" }
        return nil
    }
}

/// One scan as a sensor runs it: an `IN_PROGRESS` status, findings produced at a steady rate and
/// shipped in batches of at most ``batchSize`` or every ``flushSeconds`` (as upstream's
/// shippers), then `COMPLETE`. A refused request is sent again after ``retrySeconds``.
public struct FindingsShipper: Sendable {
    public enum Action: Sendable, Hashable {
        case sleep(until: Double)
        case sendStatus(String)
        /// Findings `range` (indices into the scan's findings).
        case sendFindings(Range<Int>)
        case done
    }

    public static let batchSize = 100
    public static let flushSeconds = 5.0
    public static let retrySeconds = 2.0

    public let scanID: String
    /// The upstream route kind: `vulnerability`, `secret` or `malware`.
    public let kind: String
    public let total: Int
    public let rate: Double
    let startedAt: Double
    var statusSent = false
    var completeSent = false
    /// Findings acknowledged (a prefix of the scan's findings).
    public private(set) var shipped = 0
    var lastShipAt: Double
    var retryAt: Double?

    public init(scanID: String, kind: String, total: Int, rate: Double, now: Double) {
        self.scanID = scanID
        self.kind = kind
        self.total = total
        self.rate = rate
        startedAt = now
        lastShipAt = now
    }

    /// Findings the scan has produced by `now`.
    func produced(_ now: Double) -> Int { min(total, Int((now - startedAt) * rate)) }

    public var isDone: Bool { completeSent }

    public func nextAction(now: Double) -> Action {
        if completeSent { return .done }
        if let retryAt, now < retryAt { return .sleep(until: retryAt) }
        if !statusSent { return .sendStatus("IN_PROGRESS") }
        let ready = produced(now) - shipped
        if ready >= Self.batchSize || (ready > 0 && (now - lastShipAt >= Self.flushSeconds || produced(now) == total)) {
            return .sendFindings(shipped..<(shipped + min(ready, Self.batchSize)))
        }
        if shipped == total { return .sendStatus("COMPLETE") }
        // Next: the flush deadline, or when the batch fills, or when the last finding exists.
        let fills = startedAt + Double(shipped + Self.batchSize) / rate
        let last = startedAt + Double(total) / rate
        // The flush: five seconds after the last shipment, once there is a finding to ship.
        let firstWaiting = ready > 0 ? now : startedAt + Double(produced(now) + 1) / rate
        let flush = max(lastShipAt + Self.flushSeconds, firstWaiting)
        return .sleep(until: max(now, min(fills, last, flush)))
    }

    public mutating func statusAnswered(_ status: String, ok: Bool, now: Double) {
        guard ok else { return retryAt = now + Self.retrySeconds }
        retryAt = nil
        if status == "COMPLETE" { completeSent = true } else { statusSent = true }
    }

    public mutating func findingsAnswered(_ range: Range<Int>, ok: Bool, now: Double) {
        guard ok else { return retryAt = now + Self.retrySeconds }
        retryAt = nil
        shipped = max(shipped, range.upperBound)
        lastShipAt = now
    }

    /// The route findings of `kind` are posted to, and the one its statuses go to.
    public static func routes(of kind: String) -> (findings: String, status: String) {
        switch kind {
        case "secret": ("secrets", "secret-scan-logs")
        case "malware": ("malware", "malware-scan-logs")
        default: ("vulnerabilities", "vulnerabilities-scan-logs")
        }
    }

    /// `text` as a JSON string (scan IDs and host names: no control characters).
    public static func quoted(_ text: String) -> String {
        var quoted = "\""
        for character in text {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// Finding `index` of the scan, shaped as upstream's record of its kind.
    public func record(_ index: Int, host: String) -> String {
        let grades = ["critical", "high", "medium", "low"]
        let grade = grades[(index * 7 + 3) % grades.count]
        let scan = Self.quoted(scanID)
        switch kind {
        case "secret":
            return #"{"scan_id":\#(scan),"ImageLayerId":"","Rule":{"id":\#(index),"name":"rule-\#(index % 40)","part":"contents","signature_to_match":"AKIA[0-9A-Z]{16}"},"Match":{"full_filename":"/srv/app/config-\#(index).yaml","matched_content":"AKIA***","starting_index":\#(index % 900),"relative_starting_index":0,"relative_ending_index":20},"Severity":{"level":"\#(grade)","score":\#(Double(index % 10) + 0.5)}}"#
        case "malware":
            return #"{"scan_id":\#(scan),"rule_name":"rule-\#(index)","class":"trojan","complete_filename":"/var/tmp/\#(host)/sample-\#(index).bin","file_severity":"\#(grade)","file_sev_score":\#(Double(index % 10) + 0.5),"severity_score":\#(index % 10),"summary":"matched \#(index % 5) strings","image_layer_id":"","meta":["m"],"strings_to_match":["s"],"meta_rules":{"rule_id":"r\#(index)","rule_name":"rule-\#(index)","author":"loadtest","date":"2026-01-01","description":"","file_severity":"\#(grade)","filetype":"elf","info":"","reference":"","version":"1"}}"#
        default:
            return #"{"scan_id":\#(scan),"cve_id":"CVE-2026-\#(10_000 + index)","cve_caused_by_package":"pkg-\#(index % 300):1.\#(index % 17)","cve_caused_by_package_path":"/usr/lib/pkg-\#(index % 300)","cve_severity":"\#(grade)","cve_cvss_score":\#(Double(index % 10) + 0.5),"cve_overall_score":\#(Double(index % 10) + 0.5),"cve_fixed_in":"1.\#(index % 17 + 1)","cve_link":"https://nvd.nist.gov/vuln/detail/CVE-2026-\#(10_000 + index)","cve_description":"a simulated vulnerability","cve_type":"base","cve_attack_vector":"network","cve_container_layer":"","exploitability_score":\#(index % 4),"init_exploitability_score":\#(index % 4),"has_live_connection":false,"cisa_kev":false,"epss_score":0.01,"exploit_poc":"","namespace":"debian:12","parsed_attack_vector":"network","urls":[]}"#
        }
    }
}
