import Foundation
import IngestCore
import IngestStorage

/// The operator's reads across placements.
extension OperatorService {
    /// A page of nodes from every placement, in byte order of their IDs.
    public func nodes(_ filter: PlacementStore.NodeFilter) async throws(IngestError) -> Page {
        let placements = self.placements
        return try await Self.storage {
            var pages: [[(id: String, json: String)]] = []
            for store in placements { pages.append(try await store.listNodeItems(filter)) }
            return Self.merge(pages, limit: filter.limit)
        }
    }

    /// Node counts by kind and liveness, summed over placements, in order of kind then liveness.
    /// Counting is a scan of every node row (40 ms at 100,000 nodes), so the counts are shared
    /// for up to ``countsMaxAge`` by every page and API call of this gateway.
    /// With `partial`, the placements that do not answer are left out instead of failing the call
    /// (the cluster page, which names them).
    public func nodeCounts(partial: Bool = false) async throws(IngestError) -> [(kind: String, online: Bool, count: Int)] {
        var sums: [String: [Bool: Int]] = [:]
        for placement in await placementCounts() {
            guard let placement else {
                if partial { continue }
                throw IngestError.unavailable
            }
            for count in placement { sums[count.kind, default: [:]][count.online, default: 0] += count.count }
        }
        return sums.keys.sorted().flatMap { kind in
            [false, true].compactMap { online in sums[kind]?[online].map { (kind, online, $0) } }
        }
    }

    /// Each placement's node count, in placement order; nil for a placement that did not answer.
    public func placementNodeCounts() async -> [Int?] {
        await placementCounts().map { $0.map { $0.reduce(0) { $0 + $1.count } } }
    }

    /// Each placement's counts by kind and liveness (nil: it did not answer), read at most once
    /// per ``countsMaxAge`` while every placement answers.
    func placementCounts() async -> CountsCache.Counts {
        if let cached = countsCache.counts(maxAge: Self.countsMaxAge) { return cached }
        var counts: CountsCache.Counts = []
        for store in placements { counts.append(try? await store.nodeCounts()) }
        // A placement that did not answer is asked again at the next call, not after the cache's age.
        if !counts.contains(where: { $0 == nil }) { countsCache.store(counts) }
        return counts
    }

    /// A node and everything stored about it as one JSON object; `noSuch("node")` when unknown.
    public func node(_ nodeID: String, kinds: Set<EntityKind>? = nil) async throws(IngestError) -> String {
        let store = store(of: nodeID)
        guard let json = try await Self.storage({ try await store.nodeDetail(nodeID, kinds: kinds) }) else {
            throw IngestError.noSuch("node")
        }
        return json
    }

    /// The node's record, or `noSuch("node")`.
    func nodeRecord(_ nodeID: String) async throws(IngestError) -> PlacementStore.NodeRecord {
        let store = store(of: nodeID)
        guard let node = try await Self.storage({ try await store.nodes(named: [nodeID]).first }) else {
            throw IngestError.noSuch("node")
        }
        return node
    }

    /// A page of what changed on a node, newest first; `noSuch("node")` when unknown.
    public func changes(of nodeID: String, _ filter: PlacementStore.ChangeFilter) async throws(IngestError)
        -> (items: [String], next: ChangeCursor?)
    {
        _ = try await nodeRecord(nodeID)
        let store = store(of: nodeID)
        return try await Self.storage { try await store.changes(of: nodeID, filter) }
    }

    /// A page of scans: of the node's placement when the filter names a node, else merged from all.
    public func scans(_ filter: PlacementStore.ScanFilter) async throws(IngestError) -> Page {
        let stores = filter.nodeID.map { [store(of: $0)] } ?? placements
        return try await Self.storage {
            var pages: [[(id: String, json: String)]] = []
            for store in stores { pages.append(try await store.listScanItems(filter)) }
            return Self.merge(pages, limit: filter.limit)
        }
    }

    /// One scan as a JSON object; `noSuch("scan")` when unknown.
    public func scan(_ scanID: String) async throws(IngestError) -> String {
        for store in stores(ofScan: scanID) {
            if let json = try await Self.storage({ try await store.scan(scanID) }) { return json }
        }
        throw IngestError.noSuch("scan")
    }

    /// Where a scan's findings are: its placement and its kind; `noSuch("scan")` when unknown.
    public func findingsSource(ofScan scanID: String) async throws(IngestError) -> (store: PlacementStore, kind: FindingKind) {
        for store in stores(ofScan: scanID) {
            if let kind = try await Self.storage({ try await store.scanKind(scanID) }) { return (store, kind) }
        }
        throw IngestError.noSuch("scan")
    }

    /// A page of a scan's findings (JSON objects), optionally of one severity.
    public func findings(ofScan scanID: String, severity: String?, after: (scanID: String, key: String)?, limit: Int)
        async throws(IngestError) -> (kind: FindingKind, items: [PlacementStore.FindingItem])
    {
        let (store, kind) = try await findingsSource(ofScan: scanID)
        var filter = PlacementStore.FindingFilter(kind: kind, scanID: scanID, severity: severity, limit: limit)
        filter.after = after
        let page = filter
        return (kind, try await Self.storage { try await store.findingItems(page, csv: false) })
    }

    /// The overview's few nodes of a highlight from every placement, newest first.
    public func highlights(_ highlight: PlacementStore.NodeHighlight, limit: Int) async throws(IngestError) -> [String] {
        let placements = self.placements
        return try await Self.storage {
            var merged: [(key: Int64, json: String)] = []
            for store in placements { merged += try await store.nodeHighlights(highlight, limit: limit) }
            return merged.sorted { $0.key > $1.key }.prefix(limit).map(\.json)
        }
    }

    /// The newest published maps with their moves (`{"from", "to", "shards"}` as JSON text).
    public func mapChanges(limit: Int) async throws(IngestError) -> [(version: Int64, at: Date, leader: String, moves: String)] {
        let catalog = self.catalog
        return try await Self.storage { try await catalog.mapChanges(limit: limit) }
    }

    /// Each worker's counters as JSON objects: this process's, then the others' in member order
    /// (a worker that does not answer is left out).
    public func workerStats() async -> [String] {
        var stats = localWorkerStats()
        for owner in router.remoteOwners.sorted(by: { $0.memberID < $1.memberID }) {
            if let answer = await owner.stats() { stats.append(answer) }
        }
        return stats
    }

    /// A node's finding counts by kind and severity as a JSON object.
    public func findingCounts(of nodeID: String) async throws(IngestError) -> String {
        let store = store(of: nodeID)
        return try await Self.storage { try await store.findingCounts(of: nodeID) }
    }

    /// The cluster as the catalog and the workers see it: map version, leader, members with
    /// their heartbeat age and shard count, node counts, and each worker's counters. With
    /// `partialCounts`, a placement that does not answer is left out of the node counts.
    public func cluster(partialCounts: Bool = false) async throws(IngestError) -> String {
        let catalog = self.catalog
        let shardCount = router.shardFunction.shardCount
        let nodeCounts = try await nodeCounts(partial: partialCounts)
        let workerStats = await workerStats()
        return try await Self.storage {
            let (members, now) = try await catalog.members()
            let map = try await catalog.shardMap(shardCount: shardCount)
            let leader = try await catalog.leader()
            let counts = map.shardCounts()
            let memberJSON = members.map { member in
                #"{"id":\#(JSONText.quoted(member.id)),"role":"\#(member.role.rawValue)","state":"\#(member.state.rawValue)","# +
                    #""address":\#(JSONText.quoted(member.address)),"incarnation":\#(member.incarnation),"# +
                    #""heartbeat_age_ms":\#(now.milliseconds - member.lastHeartbeat.milliseconds),"shards":\#(counts[member.id] ?? 0)}"#
            }
            let nodesJSON = nodeCounts.map { #"{"kind":"\#($0.kind)","online":\#($0.online),"count":\#($0.count)}"# }
            return #"{"map_version":\#(map.version),"shard_count":\#(shardCount),"unassigned_shards":\#(map.unassignedCount),"# +
                #""leader":\#(leader.map(JSONText.quoted) ?? "null"),"members":[\#(memberJSON.joined(separator: ","))],"# +
                #""nodes":[\#(nodesJSON.joined(separator: ","))],"workers":[\#(workerStats.joined(separator: ","))]}"#
        }
    }
}
