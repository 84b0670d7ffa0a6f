/// The versioned map of which worker owns each shard, at which epoch.
///
/// The coordinator writes it; gateways cache it to route, and workers read it to learn what they
/// own. Every ownership change bumps the shard's epoch, which the new owner writes into the
/// shard's placement (`shard_epochs`) before it writes data; every data transaction checks it
/// (fencing), so a former owner can never commit after losing a shard.
public struct ShardMap: Sendable, Hashable {
    /// One shard's owner and epoch.
    public struct Placement: Sendable, Hashable {
        /// The owning worker's member ID, or nil while the shard is unassigned.
        public var owner: String?
        /// The shard's epoch, bumped at every ownership change.
        public var epoch: Int64

        public init(owner: String?, epoch: Int64) {
            self.owner = owner
            self.epoch = epoch
        }
    }

    /// The map's version: it grows with every change the coordinator publishes.
    public var version: Int64
    /// The placement of each shard, indexed by shard number.
    public var placements: [Placement]

    public init(version: Int64, placements: [Placement]) {
        self.version = version
        self.placements = placements
    }

    /// An empty map of `shardCount` unassigned shards at epoch 0.
    public init(shardCount: Int) {
        self.init(version: 0, placements: Array(repeating: Placement(owner: nil, epoch: 0), count: shardCount))
    }

    /// The number of shards.
    public var shardCount: Int { placements.count }

    /// The owner and epoch of a shard.
    public func placement(of shard: Int) -> Placement? {
        placements.indices.contains(shard) ? placements[shard] : nil
    }

    /// The shards each worker owns, with their counts.
    public func shardCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for placement in placements {
            if let owner = placement.owner { counts[owner, default: 0] += 1 }
        }
        return counts
    }

    /// The shards `worker` owns, with their epochs.
    public func shards(ownedBy worker: String) -> [(shard: Int, epoch: Int64)] {
        placements.indices.compactMap { shard in
            placements[shard].owner == worker ? (shard, placements[shard].epoch) : nil
        }
    }
}
