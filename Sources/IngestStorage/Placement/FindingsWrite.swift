import Foundation
import IngestCore

/// Everything one batch of findings, scan statuses and cloud resources writes, in columns for
/// `UNNEST`, under the same shard fences as a batch of reports.
public struct FindingsWrite: Sendable {
    /// The shard epochs the writer holds: the transaction commits only if all still match.
    public var fences: [Int32: Int64] = [:]
    public var at: Date

    /// The scans the batch names: created (as `IN_PROGRESS`) if this placement has no row for
    /// them yet, so findings of a scan this console did not start are kept too.
    public var scans = ScanRows()
    /// One status per scan: the last of the batch's updates before any terminal one.
    public var statuses = StatusRows()
    public var findings: [FindingKind: FindingRows] = [:]
    public var resources = ResourceRows()
    /// SBOM uploads whose parts are stored: one row per scan (a newer upload replaces it).
    public var sboms: [(record: SBOMRecord, nodeID: String, epoch: Int64)] = []

    public init(at: Date) { self.at = at }

    public struct ScanRows: Sendable {
        public var ids: [String] = []
        public var nodeIDs: [String] = []
        public var shards: [Int32] = []
        public var kinds: [String] = []
        public var epochs: [Int64] = []
        public init() {}
    }

    public struct StatusRows: Sendable {
        public var scanIDs: [String] = []
        public var statuses: [String] = []
        public var messages: [String] = []
        public var progress: [Double?] = []
        public var epochs: [Int64] = []
        public init() {}
    }

    public struct FindingRows: Sendable {
        public var scanIDs: [String] = []
        public var nodeIDs: [String] = []
        public var keys: [String] = []
        public var severities: [String] = []
        public var bodies: [String] = []
        public init() {}
        public var count: Int { keys.count }
    }

    public struct ResourceRows: Sendable {
        public var nodeIDs: [String] = []
        public var keys: [String] = []
        public var bodies: [String] = []
        public init() {}
    }

    /// Rows of findings and resources the batch carries (some may be resends, stored once).
    public var recordCount: Int { findings.values.reduce(0) { $0 + $1.count } + resources.keys.count }

    /// Adds the parts of one shard, in arrival order.
    public mutating func add(_ parts: [FindingsPart], shard: Int, epoch: Int64) {
        fences[Int32(shard)] = epoch
        var statusIndex = Dictionary(uniqueKeysWithValues: statuses.scanIDs.enumerated().map { ($1, $0) })
        var resourceIndex = Dictionary(
            uniqueKeysWithValues: zip(resources.nodeIDs, resources.keys).enumerated().map { ("\($1.0)\u{0}\($1.1)", $0) })
        var scanIndex = Set(scans.ids)
        for part in parts {
            let kind: FindingKind?
            switch part.route {
            case .findings(let of), .scanStatus(let of): kind = of
            case .sbom: kind = .vulnerability
            case .cloudResources: kind = nil
            }
            if let kind {
                for scanID in part.scanIDs where scanIndex.insert(scanID).inserted {
                    scans.ids.append(scanID)
                    scans.nodeIDs.append(part.nodeID)
                    scans.shards.append(Int32(shard))
                    scans.kinds.append(kind.rawValue)
                    scans.epochs.append(epoch)
                }
            }
            for update in part.statuses {
                if let at = statusIndex[update.scanID] {
                    // Terminal states are final within a batch too.
                    guard let current = ScanStatus(rawValue: statuses.statuses[at]), !current.isTerminal else { continue }
                    statuses.statuses[at] = update.status.rawValue
                    statuses.messages[at] = update.message
                    statuses.progress[at] = update.progress ?? statuses.progress[at]
                } else {
                    statusIndex[update.scanID] = statuses.scanIDs.count
                    statuses.scanIDs.append(update.scanID)
                    statuses.statuses.append(update.status.rawValue)
                    statuses.messages.append(update.message)
                    statuses.progress.append(update.progress)
                    statuses.epochs.append(epoch)
                }
            }
            if let kind, !part.findings.isEmpty {
                var rows = findings[kind] ?? FindingRows()
                for finding in part.findings {
                    rows.scanIDs.append(finding.scanID)
                    rows.nodeIDs.append(part.nodeID)
                    rows.keys.append(finding.key)
                    rows.severities.append(finding.severity)
                    rows.bodies.append(finding.body)
                }
                findings[kind] = rows
            }
            for sbom in part.sboms {
                sboms.removeAll { $0.record.scanID == sbom.scanID }
                sboms.append((sbom, part.nodeID, epoch))
            }
            for resource in part.resources {
                // One row per resource in a statement: a later report of it replaces the earlier.
                let key = "\(part.nodeID)\u{0}\(resource.key)"
                if let at = resourceIndex[key] {
                    resources.bodies[at] = resource.body
                } else {
                    resourceIndex[key] = resources.keys.count
                    resources.nodeIDs.append(part.nodeID)
                    resources.keys.append(resource.key)
                    resources.bodies.append(resource.body)
                }
            }
        }
    }
}
