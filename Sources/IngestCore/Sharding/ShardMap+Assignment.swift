/// One shard's new placement, as the coordinator writes it.
public struct ShardChange: Sendable, Hashable {
    public var shard: Int
    public var owner: String?
    public var epoch: Int64

    public init(shard: Int, owner: String?, epoch: Int64) {
        self.shard = shard
        self.owner = owner
        self.epoch = epoch
    }
}

extension ShardMap {
    /// The changes that balance the shards over `workers`, moving as few shards as possible.
    ///
    /// - Every worker ends with ⌊S/W⌋ or ⌈S/W⌉ shards (balanced within one).
    /// - Shards of workers that are gone are orphans and are always moved; a worker keeps every
    ///   shard it has up to its quota; the larger quotas go to the workers that already hold the
    ///   most shards, so a balanced map produces no change.
    /// - Each moved shard's epoch is bumped by one.
    /// - With no workers, every owned shard becomes unassigned (epoch bumped).
    ///
    /// Deterministic: the same map and worker set always give the same changes.
    public func rebalance(workers: Set<String>) -> [ShardChange] {
        var newOwner = placements.map { $0.owner.flatMap { workers.contains($0) ? $0 : nil } }
        if workers.isEmpty {
            return changes(to: newOwner)
        }
        var held: [String: [Int]] = Dictionary(uniqueKeysWithValues: workers.map { ($0, []) })
        for shard in newOwner.indices {
            if let owner = newOwner[shard] { held[owner]!.append(shard) }
        }
        let quotaBase = shardCount / workers.count
        let extra = shardCount % workers.count
        // Workers holding the most shards get the larger quotas; ties by ID.
        let ranked = workers.sorted { lhs, rhs in
            let (l, r) = (held[lhs]!.count, held[rhs]!.count)
            return l != r ? l > r : lhs < rhs
        }
        var quota: [String: Int] = [:]
        for (rank, worker) in ranked.enumerated() { quota[worker] = quotaBase + (rank < extra ? 1 : 0) }
        // Release what is over quota (highest shard numbers first), then hand orphans out.
        for worker in ranked {
            let shards = held[worker]!
            let over = shards.count - quota[worker]!
            if over > 0 {
                for shard in shards.suffix(over) { newOwner[shard] = nil }
                held[worker] = Array(shards.dropLast(over))
            }
        }
        var receivers = ranked.filter { held[$0]!.count < quota[$0]! }.makeIterator()
        var receiver = receivers.next()
        for shard in newOwner.indices where newOwner[shard] == nil {
            while let current = receiver, held[current]!.count >= quota[current]! { receiver = receivers.next() }
            guard let current = receiver else { break }
            newOwner[shard] = current
            held[current]!.append(shard)
        }
        return changes(to: newOwner)
    }

    func changes(to newOwner: [String?]) -> [ShardChange] {
        placements.indices.compactMap { shard in
            let placement = placements[shard]
            guard placement.owner != newOwner[shard] else { return nil }
            return ShardChange(shard: shard, owner: newOwner[shard], epoch: placement.epoch + 1)
        }
    }

    /// This map with `changes` applied and its version bumped (when there were any).
    public func applying(_ changes: [ShardChange]) -> ShardMap {
        guard !changes.isEmpty else { return self }
        var map = self
        for change in changes {
            map.placements[change.shard] = Placement(owner: change.owner, epoch: change.epoch)
        }
        map.version += 1
        return map
    }
}

extension ShardMap {
    /// Changes that keep `worker`'s shards with it but bump their epochs: used when a worker
    /// comes back with a new incarnation, so nothing its previous incarnation still has in
    /// flight can commit.
    public func refencing(worker: String) -> [ShardChange] {
        placements.indices.compactMap { shard in
            let placement = placements[shard]
            guard placement.owner == worker else { return nil }
            return ShardChange(shard: shard, owner: worker, epoch: placement.epoch + 1)
        }
    }
}
