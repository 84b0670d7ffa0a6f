/// The versioned map of which worker owns each shard, at which epoch, in which placement.
///
/// The coordinator writes it; gateways cache it to route, and workers read it to learn what they
/// own. Every ownership change bumps the shard's epoch, which the new owner writes into the
/// shard's placement (`shard_epochs`) before it writes data; every data transaction checks it
/// (fencing), so a former owner can never commit after losing a shard.
public struct ShardMap: Sendable, Hashable {
    /// One shard's owner, epoch and placement.
    public struct Entry: Sendable, Hashable {
        /// The owning worker's member ID, or nil while the shard is unassigned.
        public var owner: String?
        /// The run (incarnation) of the owner the shard was assigned to: a worker claims only the
        /// shards assigned to its own run, so a restart is fenced from its previous run.
        public var ownerIncarnation: Int64?
        /// The shard's epoch, bumped at every ownership change.
        public var epoch: Int64
        /// The placement database the shard's data lives in, fixed when the cluster is created.
        public var placement: Int

        public init(owner: String?, ownerIncarnation: Int64? = nil, epoch: Int64, placement: Int = 0) {
            self.owner = owner
            self.ownerIncarnation = ownerIncarnation
            self.epoch = epoch
            self.placement = placement
        }
    }

    /// The map's version: it grows with every change the coordinator publishes.
    public var version: Int64
    /// The entry of each shard, indexed by shard number.
    public var entries: [Entry]

    public init(version: Int64, entries: [Entry]) {
        self.version = version
        self.entries = entries
    }

    /// An empty map of `shardCount` unassigned shards at epoch 0, spread over `placements`
    /// placements round-robin (shard `s` lives in placement `s mod placements`).
    public init(shardCount: Int, placements: Int = 1) {
        let count = max(placements, 1)
        self.init(version: 0, entries: (0..<shardCount).map { Entry(owner: nil, epoch: 0, placement: $0 % count) })
    }

    /// The number of shards.
    public var shardCount: Int { entries.count }

    /// Which of a placement's `lanes` (a worker's parallel write transactions on it) writes
    /// `shard`, of a cluster of `placements` placements. A placement holds shards p, p + P,
    /// p + 2P, …: they are spread by their number within the placement. (`shard mod lanes` put
    /// every shard of a placement on one lane whenever P and the lane count share a factor:
    /// with 4 placements and 4 lanes, one busy lane per placement.)
    public static func lane(of shard: Int, placements: Int, lanes: Int) -> Int {
        (shard / max(placements, 1)) % max(lanes, 1)
    }

    /// The owner, epoch and placement of a shard.
    public func entry(of shard: Int) -> Entry? {
        entries.indices.contains(shard) ? entries[shard] : nil
    }

    /// The number of shards each worker owns.
    public func shardCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for entry in entries {
            if let owner = entry.owner { counts[owner, default: 0] += 1 }
        }
        return counts
    }

    /// The shards assigned to `worker`'s run `incarnation`, with their epochs.
    public func shards(ownedBy worker: String, incarnation: Int64) -> [Int: Int64] {
        var owned: [Int: Int64] = [:]
        for shard in entries.indices where entries[shard].owner == worker && entries[shard].ownerIncarnation == incarnation {
            owned[shard] = entries[shard].epoch
        }
        return owned
    }

    /// The number of shards without an owner.
    public var unassignedCount: Int { entries.reduce(0) { $0 + ($1.owner == nil ? 1 : 0) } }

    /// How far the map is from balanced: the largest minus the smallest shard count over
    /// `workers` (0 or 1 is balanced).
    public func imbalance(over workers: Set<String>) -> Int {
        guard !workers.isEmpty else { return 0 }
        let counts = shardCounts()
        let values = workers.map { counts[$0] ?? 0 }
        return values.max()! - values.min()!
    }
}
