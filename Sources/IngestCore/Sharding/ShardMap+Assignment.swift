/// One shard's new owner, as the coordinator writes it.
public struct ShardChange: Sendable, Hashable {
    public var shard: Int
    public var owner: String?
    public var ownerIncarnation: Int64?
    public var epoch: Int64

    public init(shard: Int, owner: String?, ownerIncarnation: Int64? = nil, epoch: Int64) {
        self.shard = shard
        self.owner = owner
        self.ownerIncarnation = ownerIncarnation
        self.epoch = epoch
    }

    /// Whether the shard goes to another worker (not a re-fence of the same worker's new run).
    public func isMove(from map: ShardMap) -> Bool { map.entries[shard].owner != owner }
}

extension ShardMap {
    /// The changes that balance the shards over `workers` (member ID → the run that should own
    /// its shards), moving as few shards as possible.
    ///
    /// - Every worker ends with ⌊S/W⌋ or ⌈S/W⌉ shards (balanced within one).
    /// - Shards of workers not in `workers` are orphans and are always moved; a worker keeps every
    ///   shard it has up to its quota; the larger quotas go to the workers that already hold the
    ///   most shards, so a balanced map produces no change.
    /// - A shard kept by a worker whose run changed (a restart) stays with it under a bumped
    ///   epoch, so nothing the previous run still has in flight can commit.
    /// - Each changed shard's epoch is bumped by one. With no workers, every owned shard becomes
    ///   unassigned.
    ///
    /// - Workers in `keeping` (restarting within their grace) keep exactly the shards they hold,
    ///   unchanged, and take part in nothing else: the other shards are balanced over `workers`.
    /// - Shards that move anyway go, where quotas allow, to a worker whose placements they live in
    ///   (``prefers(placement:worker:of:placements:)``), and a worker over its quota gives up the
    ///   shards of other placements first: with as many workers as placements each writes to one
    ///   placement, so a placement serves the lanes and connections of one worker, not of all.
    ///   Affinity never moves a shard by itself: a balanced map stays as it is.
    ///
    /// Deterministic: the same map and workers always give the same changes.
    public func rebalance(workers: [String: Int64], keeping: Set<String> = []) -> [ShardChange] {
        let kept = entries.indices.filter { entries[$0].owner.map(keeping.contains) ?? false }
        let keptSet = Set(kept)
        var newOwner = entries.map { $0.owner.flatMap { workers[$0] != nil || keeping.contains($0) ? $0 : nil } }
        if workers.isEmpty {
            return changes(to: newOwner, incarnations: workers, kept: keptSet)
        }
        var held: [String: [Int]] = Dictionary(uniqueKeysWithValues: workers.keys.map { ($0, []) })
        for shard in newOwner.indices where !keptSet.contains(shard) {
            if let owner = newOwner[shard] { held[owner]!.append(shard) }
        }
        let pool = shardCount - kept.count
        let quotaBase = pool / workers.count
        let extra = pool % workers.count
        // Workers holding the most shards get the larger quotas; ties by ID.
        let ranked = workers.keys.sorted { lhs, rhs in
            let (l, r) = (held[lhs]!.count, held[rhs]!.count)
            return l != r ? l > r : lhs < rhs
        }
        var quota: [String: Int] = [:]
        for (rank, worker) in ranked.enumerated() { quota[worker] = quotaBase + (rank < extra ? 1 : 0) }
        let byID = workers.keys.sorted()
        let position = Dictionary(uniqueKeysWithValues: byID.enumerated().map { ($1, $0) })
        let placementCount = (entries.map(\.placement).max() ?? 0) + 1
        let prefers = { (worker: String, shard: Int) in
            Self.prefers(placement: entries[shard].placement, worker: position[worker]!, of: byID.count, placements: placementCount)
        }
        // Release what is over quota: shards of other placements first, highest numbers first.
        for worker in ranked {
            let shards = held[worker]!
            let over = shards.count - quota[worker]!
            if over > 0 {
                let releasing = Set((shards.filter { !prefers(worker, $0) }.reversed() + shards.filter { prefers(worker, $0) }.reversed()).prefix(over))
                for shard in releasing { newOwner[shard] = nil }
                held[worker] = shards.filter { !releasing.contains($0) }
            }
        }
        // Hand orphans out: to a worker with room that prefers the shard's placement, then to
        // any worker with room, in rank order.
        let receivers = ranked.filter { held[$0]!.count < quota[$0]! }
        var unplaced: [Int] = []
        for shard in newOwner.indices where newOwner[shard] == nil && !keptSet.contains(shard) {
            guard let receiver = receivers.first(where: { held[$0]!.count < quota[$0]! && prefers($0, shard) }) else {
                unplaced.append(shard)
                continue
            }
            newOwner[shard] = receiver
            held[receiver]!.append(shard)
        }
        for shard in unplaced {
            guard let receiver = receivers.first(where: { held[$0]!.count < quota[$0]! }) else { break }
            newOwner[shard] = receiver
            held[receiver]!.append(shard)
        }
        return changes(to: newOwner, incarnations: workers, kept: keptSet)
    }

    /// Whether the worker at `worker` (its position among the `workers` by member ID) prefers
    /// shards of `placement`: with no more workers than placements, worker i takes placements
    /// i, i + W, i + 2W, …; with more, workers i, i + P, i + 2P, … share placement i mod P.
    static func prefers(placement: Int, worker: Int, of workers: Int, placements: Int) -> Bool {
        workers <= placements ? placement % workers == worker : worker % placements == placement
    }

    func changes(to newOwner: [String?], incarnations: [String: Int64], kept: Set<Int>) -> [ShardChange] {
        entries.indices.compactMap { shard in
            guard !kept.contains(shard) else { return nil }
            let entry = entries[shard]
            let incarnation = newOwner[shard].flatMap { incarnations[$0] }
            guard entry.owner != newOwner[shard] || entry.ownerIncarnation != incarnation else { return nil }
            return ShardChange(shard: shard, owner: newOwner[shard], ownerIncarnation: incarnation, epoch: entry.epoch + 1)
        }
    }

    /// This map with `changes` applied and its version bumped (when there were any).
    public func applying(_ changes: [ShardChange]) -> ShardMap {
        guard !changes.isEmpty else { return self }
        var map = self
        for change in changes {
            map.entries[change.shard].owner = change.owner
            map.entries[change.shard].ownerIncarnation = change.ownerIncarnation
            map.entries[change.shard].epoch = change.epoch
        }
        map.version += 1
        return map
    }
}
