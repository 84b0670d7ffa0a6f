/// The actions a ThreatMapper console can ask a sensor to run (`ctl.ActionID` upstream), with the
/// integer IDs sensors expect.
public enum ThreatMapperAction: Int, Sendable, Hashable, CaseIterable {
    case startVulnerabilityScan = 0
    case startSecretScan = 1
    case startComplianceScan = 2
    case startMalwareScan = 3
    case startAgentUpgrade = 4
    case sendAgentDiagnosticLogs = 5
    case startAgentPlugin = 6
    case stopAgentPlugin = 7
    case upgradeAgentPlugin = 8
    case stopSecretScan = 9
    case stopMalwareScan = 10
    case stopVulnerabilityScan = 11
    case stopComplianceScan = 12
    case updateAgentThreatIntel = 13

    /// The upstream name (`StartVulnerabilityScan`, …).
    public var name: String {
        switch self {
        case .startVulnerabilityScan: "StartVulnerabilityScan"
        case .startSecretScan: "StartSecretScan"
        case .startComplianceScan: "StartComplianceScan"
        case .startMalwareScan: "StartMalwareScan"
        case .startAgentUpgrade: "StartAgentUpgrade"
        case .sendAgentDiagnosticLogs: "SendAgentDiagnosticLogs"
        case .startAgentPlugin: "StartAgentPlugin"
        case .stopAgentPlugin: "StopAgentPlugin"
        case .upgradeAgentPlugin: "UpgradeAgentPlugin"
        case .stopSecretScan: "StopSecretScan"
        case .stopMalwareScan: "StopMalwareScan"
        case .stopVulnerabilityScan: "StopVulnerabilityScan"
        case .stopComplianceScan: "StopComplianceScan"
        case .updateAgentThreatIntel: "UpdateAgentThreatIntel"
        }
    }

    /// The action with this upstream name, if any.
    public init?(name: String) {
        guard let action = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = action
    }

    /// Whether a sensor of this kind has a handler for the action. Older ThreatMapper probes
    /// crash on an action they did not register, so the console refuses to queue one.
    public func isSupported(by kind: NodeKind) -> Bool {
        switch kind {
        case .host: self != .upgradeAgentPlugin
        case .kubernetesCluster: [.startComplianceScan, .startAgentUpgrade, .sendAgentDiagnosticLogs].contains(self)
        }
    }
}
