/// The end-of-run proof that nothing acknowledged was lost: for every sensor that had a report
/// acknowledged, the console must hold that sensor's node; the node's latest report ID must be
/// the last one acknowledged, or one sent after it whose answer never arrived (committed but not
/// acknowledged, which is not a loss); and the entities the console holds for the node must add
/// up to that report's (counts per kind and one digest over every entity's key and content, the
/// console's `ContentDigest`), so a lost entity row fails the check too.
public struct LossCheck: Sendable, Codable, Hashable {
    /// What the fleet knows of one sensor.
    public struct Ledger: Sendable, Hashable {
        public var nodeID: String
        /// The last report the console acknowledged with 200.
        public var lastAcknowledged: String?
        /// Reports sent after it whose answer never arrived.
        public var inDoubt: [String] = []
        /// The content digest of the last acknowledged report and of those in doubt, by report ID
        /// (absent where the fleet did not compute one).
        public var contents: [String: String] = [:]

        public init(nodeID: String) { self.nodeID = nodeID }

        /// Records a report's fate; `content` is its content digest's text.
        public mutating func sent(_ reportID: String, content: String? = nil, acknowledged: Bool, answered: Bool) {
            if acknowledged {
                lastAcknowledged = reportID
                inDoubt.removeAll()
                contents.removeAll()
            } else if !answered {
                inDoubt.append(reportID)
            } else {
                return
            }
            if let content { contents[reportID] = content }
        }
    }

    /// What the console holds of one node.
    public struct Stored: Sendable, Hashable {
        public var reportID: String?
        /// Its content digest's text (nil: the console did not say).
        public var content: String?

        public init(reportID: String?, content: String? = nil) {
            self.reportID = reportID
            self.content = content
        }
    }

    public struct Mismatch: Sendable, Codable, Hashable {
        public var nodeID: String
        public var acknowledged: String
        /// What the console holds (nil: no such node).
        public var stored: String?
        /// For a matching report ID with other entities: what the report held and what the
        /// console holds.
        public var expectedContent: String?
        public var storedContent: String?
    }

    public var sensorsChecked: Int
    public var missingNodes: Int
    /// Sensors whose entities were compared too (the console reported content digests).
    public var contentChecked: Int
    public var mismatches: [Mismatch]
    public var passed: Bool { mismatches.isEmpty }

    /// Compares the fleet's ledgers with the console's latest report and content per node.
    public init(ledgers: [Ledger], stored: [String: Stored]) {
        var checked = 0
        var missing = 0
        var contentChecked = 0
        var mismatches: [Mismatch] = []
        for ledger in ledgers {
            guard let acknowledged = ledger.lastAcknowledged else { continue }
            checked += 1
            guard let held = stored[ledger.nodeID] else {
                missing += 1
                mismatches.append(Mismatch(nodeID: ledger.nodeID, acknowledged: acknowledged, stored: nil))
                continue
            }
            guard let heldID = held.reportID, heldID == acknowledged || ledger.inDoubt.contains(heldID) else {
                mismatches.append(Mismatch(nodeID: ledger.nodeID, acknowledged: acknowledged, stored: held.reportID ?? "(none)"))
                continue
            }
            guard let expected = ledger.contents[heldID], let content = held.content else { continue }
            contentChecked += 1
            if expected != content {
                mismatches.append(Mismatch(nodeID: ledger.nodeID, acknowledged: acknowledged, stored: heldID,
                                           expectedContent: expected, storedContent: content))
            }
        }
        self.sensorsChecked = checked
        self.missingNodes = missing
        self.contentChecked = contentChecked
        self.mismatches = mismatches
    }

    /// One line about a mismatch, for the run's output.
    public static func describe(_ mismatch: Mismatch) -> String {
        if let expected = mismatch.expectedContent {
            return "\(mismatch.nodeID): report \(mismatch.acknowledged) held, but its entities differ: sent \(expected), "
                + "console holds \(mismatch.storedContent ?? "?")"
        }
        return "\(mismatch.nodeID): acknowledged \(mismatch.acknowledged), console holds \(mismatch.stored ?? "no node")"
    }
}
