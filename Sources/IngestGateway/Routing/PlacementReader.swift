import IngestCore
import IngestStorage

/// The operator API's reads across every placement: a node is read from its shard's placement;
/// lists and counts are merged.
public struct PlacementReader: Sendable {
    /// The placement databases, by placement number.
    public let placements: [PlacementStore]

    public init(placements: [PlacementStore]) {
        precondition(!placements.isEmpty, "a cluster has at least one placement")
        self.placements = placements
    }

    /// The store of placement `number`.
    public func store(_ number: Int) -> PlacementStore { placements[min(max(number, 0), placements.count - 1)] }

    /// A page of nodes from every placement, merged in byte order of their IDs.
    public func listNodes(_ filter: PlacementStore.NodeFilter) async throws -> (json: String, next: String?) {
        var merged: [(id: String, json: String)] = []
        var full = false
        for store in placements {
            let items = try await store.listNodeItems(filter)
            if items.count == filter.limit { full = true }
            merged += items
        }
        merged.sort { Array($0.id.utf8).lexicographicallyPrecedes(Array($1.id.utf8)) }
        let page = Array(merged.prefix(filter.limit))
        // More may follow when any placement filled its page or the merge cut some off.
        let more = full || merged.count > filter.limit
        return ("[" + page.map(\.json).joined(separator: ",") + "]", more ? page.last?.id : nil)
    }

    /// Node counts by kind and liveness, summed over placements.
    public func nodeCounts() async throws -> [(kind: String, online: Bool, count: Int)] {
        var sums: [String: Int] = [:]
        for store in placements {
            for count in try await store.nodeCounts() { sums["\(count.kind)|\(count.online)", default: 0] += count.count }
        }
        return sums.keys.sorted().map { key in
            let parts = key.split(separator: "|")
            return (String(parts[0]), parts[1] == "true", sums[key]!)
        }
    }
}
