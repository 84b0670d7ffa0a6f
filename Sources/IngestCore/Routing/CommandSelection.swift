/// Which pending commands a control poll delivers.
///
/// As upstream: commands that stop work or collect diagnostics go out on every poll (at most
/// ``maximumFreeCommands``); commands that start work (scans, upgrades, plugins) go out only as
/// far as the sensor's `available_workload` allows, less the scans already handed to it that it has
/// not reported on yet (``ScansAwaitingStart``). What is not delivered stays pending, in order.
public enum CommandSelection {
    /// Most commands that need no workload handed out in one poll.
    public static let maximumFreeCommands = 5

    /// Whether running the action takes one of the sensor's workload slots.
    public static func needsWorkload(_ actionID: Int) -> Bool {
        guard let action = ThreatMapperAction(rawValue: actionID) else { return true }
        switch action {
        case .startVulnerabilityScan, .startSecretScan, .startComplianceScan, .startMalwareScan, .startAgentUpgrade,
            .startAgentPlugin, .upgradeAgentPlugin:
            return true
        case .sendAgentDiagnosticLogs, .stopAgentPlugin, .stopSecretScan, .stopMalwareScan, .stopVulnerabilityScan,
            .stopComplianceScan, .updateAgentThreatIntel:
            return false
        }
    }

    /// Splits `pending` (oldest first) into what to deliver now and what to keep; `awaitingStart`
    /// slots of `availableWorkload` are taken by scans delivered earlier and not yet reported on.
    public static func select(_ pending: [AgentCommand], availableWorkload: Int, awaitingStart: Int = 0)
        -> (deliver: [AgentCommand], keep: [AgentCommand])
    {
        var deliver: [AgentCommand] = []
        var keep: [AgentCommand] = []
        var free = maximumFreeCommands
        var workload = max(availableWorkload - max(awaitingStart, 0), 0)
        for command in pending {
            if needsWorkload(command.actionID) {
                if workload > 0 {
                    workload -= 1
                    deliver.append(command)
                } else {
                    keep.append(command)
                }
            } else if free > 0 {
                free -= 1
                deliver.append(command)
            } else {
                keep.append(command)
            }
        }
        return (deliver, keep)
    }
}
