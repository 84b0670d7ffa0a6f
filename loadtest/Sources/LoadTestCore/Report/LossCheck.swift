/// The end-of-run proof that nothing acknowledged was lost: for every sensor that had a report
/// acknowledged, the console must hold that sensor's node; the node's latest report ID must be
/// the last one acknowledged, or one sent after it whose answer never arrived (committed but not
/// acknowledged, which is not a loss); and the entities the console holds for the node must add
/// up to that report's (counts per kind and one digest over every entity's key and content, the
/// console's `ContentDigest`), so a lost entity row fails the check too.
public struct LossCheck: Sendable, Codable, Hashable {
    /// What a sensor shipped of one scan.
    public struct ScanRecord: Sendable, Hashable, Codable {
        /// Findings the console acknowledged (findings 0 ..< this).
        public var acknowledged = 0
        /// Findings sent, acknowledged or not (findings 0 ..< this).
        public var sent = 0
        /// Whether the console acknowledged the scan's `COMPLETE`.
        public var completed = false
        public init() {}
    }

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
        /// The scans the sensor ran, by scan ID.
        public var scans: [String: ScanRecord] = [:]

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

/// The scans' half of the loss check: for each scan the fleet ran, the console must hold at
/// least the findings it acknowledged and no more than were sent, each once; a scan whose
/// `COMPLETE` was acknowledged must be complete.
public struct FindingsCheck: Sendable, Codable, Hashable {
    /// What the console holds of a scan.
    public struct Stored: Sendable, Codable, Hashable {
        public var findings: Int
        public var status: String
        public init(findings: Int, status: String) {
            self.findings = findings
            self.status = status
        }
    }

    public var scans = 0
    public var completed = 0
    /// Findings the console acknowledged, over every scan.
    public var acknowledged = 0
    /// Findings the console holds for those scans.
    public var stored = 0
    /// Acknowledged findings per second over the run.
    public var findingsPerSecond = 0.0
    /// `scan: what is wrong`.
    public var mismatches: [String] = []
    /// The fleet's requests to start scans, by status (201 queued, 409 one still open, 404 the
    /// node not stored yet).
    public var queued: [String: Int] = [:]

    public var passed: Bool { mismatches.isEmpty }

    public init(ledgers: [LossCheck.Ledger], stored: [String: Stored], seconds: Double) {
        for ledger in ledgers {
            for (scanID, record) in ledger.scans.sorted(by: { $0.key < $1.key }) {
                scans += 1
                acknowledged += record.acknowledged
                if record.completed { completed += 1 }
                guard let held = stored[scanID] else {
                    if record.acknowledged > 0 || record.completed { mismatches.append("\(scanID): not stored") }
                    continue
                }
                self.stored += held.findings
                if held.findings < record.acknowledged {
                    mismatches.append("\(scanID): \(held.findings) findings stored, \(record.acknowledged) acknowledged")
                } else if held.findings > record.sent {
                    mismatches.append("\(scanID): \(held.findings) findings stored, only \(record.sent) sent")
                }
                if record.completed && held.status != "COMPLETE" {
                    mismatches.append("\(scanID): COMPLETE acknowledged, stored as \(held.status)")
                }
            }
        }
        findingsPerSecond = seconds > 0 ? Double(acknowledged) / seconds : 0
    }
}
