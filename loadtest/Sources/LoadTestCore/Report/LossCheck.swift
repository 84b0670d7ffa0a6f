/// The end-of-run proof that nothing acknowledged was lost: for every sensor that had a report
/// acknowledged, the console must hold that sensor's node, and the node's latest report ID must
/// be the last one acknowledged, or one sent after it whose answer never arrived (committed but
/// not acknowledged, which is not a loss).
public struct LossCheck: Sendable, Codable, Hashable {
    /// What the fleet knows of one sensor.
    public struct Ledger: Sendable, Hashable {
        public var nodeID: String
        /// The last report the console acknowledged with 200.
        public var lastAcknowledged: String?
        /// Reports sent after it whose answer never arrived.
        public var inDoubt: [String] = []

        public init(nodeID: String) { self.nodeID = nodeID }

        /// Records a report's fate.
        public mutating func sent(_ reportID: String, acknowledged: Bool, answered: Bool) {
            if acknowledged {
                lastAcknowledged = reportID
                inDoubt.removeAll()
            } else if !answered {
                inDoubt.append(reportID)
            }
        }
    }

    public struct Mismatch: Sendable, Codable, Hashable {
        public var nodeID: String
        public var acknowledged: String
        /// What the console holds (nil: no such node).
        public var stored: String?
    }

    public var sensorsChecked: Int
    public var missingNodes: Int
    public var mismatches: [Mismatch]
    public var passed: Bool { mismatches.isEmpty }

    /// Compares the fleet's ledgers with the console's latest report ID per node.
    public init(ledgers: [Ledger], stored: [String: String?]) {
        var checked = 0
        var missing = 0
        var mismatches: [Mismatch] = []
        for ledger in ledgers {
            guard let acknowledged = ledger.lastAcknowledged else { continue }
            checked += 1
            guard let held = stored[ledger.nodeID] else {
                missing += 1
                mismatches.append(Mismatch(nodeID: ledger.nodeID, acknowledged: acknowledged, stored: nil))
                continue
            }
            if held == acknowledged || (held.map { ledger.inDoubt.contains($0) } ?? false) { continue }
            mismatches.append(Mismatch(nodeID: ledger.nodeID, acknowledged: acknowledged, stored: held ?? "(none)"))
        }
        self.sensorsChecked = checked
        self.missingNodes = missing
        self.mismatches = mismatches
    }
}
