/// The kinds of scan a ThreatMapper sensor (or cloud scanner) runs and ships findings of.
public enum FindingKind: String, Sendable, Hashable, CaseIterable {
    case vulnerability
    case secret
    case malware
    case compliance
    case cloudCompliance = "cloud_compliance"

    /// The table its findings are stored in (partitioned by the day the scan was created).
    public var tableName: String { rawValue + "_findings" }

    /// `POST /deepfence/ingest/<route>`: the findings route.
    public var findingsRoute: String {
        switch self {
        case .vulnerability: "vulnerabilities"
        case .secret: "secrets"
        case .malware: "malware"
        case .compliance: "compliance"
        case .cloudCompliance: "cloud-compliance"
        }
    }

    /// `POST /deepfence/ingest/<route>`: the scan status route.
    public var statusRoute: String {
        switch self {
        case .vulnerability: "vulnerabilities-scan-logs"
        case .secret: "secret-scan-logs"
        case .malware: "malware-scan-logs"
        case .compliance: "compliance-scan-logs"
        case .cloudCompliance: "cloud-compliance-status"
        }
    }

    /// The action that starts a scan of this kind on a sensor (cloud compliance scans are run
    /// by the cloud scanner, which is not sent actions).
    public var startAction: ThreatMapperAction? {
        switch self {
        case .vulnerability: .startVulnerabilityScan
        case .secret: .startSecretScan
        case .malware: .startMalwareScan
        case .compliance: .startComplianceScan
        case .cloudCompliance: nil
        }
    }

    /// The kind of scan `action` starts, if it starts one.
    public init?(startedBy action: ThreatMapperAction) {
        guard let kind = Self.allCases.first(where: { $0.startAction == action }) else { return nil }
        self = kind
    }

    /// What a finding's severity is read from: the upstream field that grades it. Compliance
    /// results are graded by their status (`alarm`, `ok`, `info`, `skip`, `error`, …), as the
    /// upstream console counts them.
    public var severityField: String {
        switch self {
        case .vulnerability: "cve_severity"
        case .secret: "Severity.level"
        case .malware: "file_severity"
        case .compliance, .cloudCompliance: "status"
        }
    }

    /// The fields that make a finding's natural key within its scan (a resent finding has the
    /// same key and is stored once). The first one is required.
    public var keyFields: [String] {
        switch self {
        case .vulnerability: ["cve_id", "cve_caused_by_package"]
        case .secret: ["Rule.id", "Match.full_filename", "Match.starting_index"]
        case .malware: ["rule_name", "complete_filename"]
        case .compliance: ["test_number", "compliance_check_type", "resource"]
        case .cloudCompliance: ["control_id", "resource", "region"]
        }
    }
}

/// What a `POST /deepfence/ingest/…` route carries.
public enum IngestRoute: Sendable, Hashable {
    /// An array of findings of one kind.
    case findings(FindingKind)
    /// An array of scan status updates of one kind.
    case scanStatus(FindingKind)
    /// An array of cloud resources (inventory of a cloud account).
    case cloudResources
    /// One SBOM upload (of a vulnerability scan), stored in parts before its part is submitted.
    case sbom

    /// The route of `POST /deepfence/ingest/<name>`, if it is one of these.
    public init?(name: Substring) {
        if name == "cloud-resources" {
            self = .cloudResources
        } else if name == "sbom" {
            self = .sbom
        } else if let kind = FindingKind.allCases.first(where: { $0.findingsRoute == name }) {
            self = .findings(kind)
        } else if let kind = FindingKind.allCases.first(where: { $0.statusRoute == name }) {
            self = .scanStatus(kind)
        } else {
            return nil
        }
    }

    /// The path segment after `/deepfence/ingest/`.
    public var name: String {
        switch self {
        case .findings(let kind): kind.findingsRoute
        case .scanStatus(let kind): kind.statusRoute
        case .cloudResources: "cloud-resources"
        case .sbom: "sbom"
        }
    }

    /// Every JSON-array route (the SBOM upload is not one).
    public static let all: [IngestRoute] = FindingKind.allCases.map { .findings($0) } + FindingKind.allCases.map { .scanStatus($0) }
        + [.cloudResources]
}
