import Testing
@testable import IngestCore

func runs(_ ids: String...) -> [String: Int64] { runs(ids) }
func runs(_ ids: [String]) -> [String: Int64] { Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }) }

func assigned(_ shardCount: Int, to workers: [String: Int64], placements: Int = 1) -> ShardMap {
    let empty = ShardMap(shardCount: shardCount, placements: placements)
    return empty.applying(empty.rebalance(workers: workers))
}

struct ShardMapAssignmentTests {
    func balanced(_ map: ShardMap, workers: Set<String>) -> Bool {
        let counts = map.shardCounts()
        guard Set(counts.keys) == workers, map.entries.allSatisfy({ $0.owner != nil }) else { return false }
        return map.imbalance(over: workers) <= 1
    }

    @Test(arguments: [1, 2, 3, 5, 7])
    func firstAssignmentIsBalanced(workerCount: Int) {
        let workers = Dictionary(uniqueKeysWithValues: (0..<workerCount).map { ("w\($0)", Int64($0 + 10)) })
        let map = ShardMap(shardCount: 4096)
        let changes = map.rebalance(workers: workers)
        #expect(changes.count == 4096)
        let next = map.applying(changes)
        #expect(balanced(next, workers: Set(workers.keys)))
        #expect(next.version == 1)
        #expect(next.entries.allSatisfy { $0.epoch == 1 && $0.ownerIncarnation == workers[$0.owner!] })
    }

    @Test func balancedMapDoesNotMove() {
        let map = assigned(100, to: runs("a", "b", "c"))
        #expect(map.rebalance(workers: runs("a", "b", "c")).isEmpty)
    }

    @Test(arguments: [2, 3, 4, 7])
    func joinMovesAtMostTheJoinersShare(existing: Int) {
        var workers = Dictionary(uniqueKeysWithValues: (0..<existing).map { ("w\($0)", Int64(1)) })
        let map = assigned(4096, to: workers)
        workers["new"] = 1
        let changes = map.rebalance(workers: workers)
        // ≤ 1/W + 2 % of the shards move on a join of one of W workers.
        #expect(Double(changes.count) <= 4096.0 / Double(workers.count) + 0.02 * 4096)
        #expect(changes.allSatisfy { $0.owner == "new" && $0.isMove(from: map) })
        #expect(balanced(map.applying(changes), workers: Set(workers.keys)))
        #expect(changes.allSatisfy { $0.epoch == map.entries[$0.shard].epoch + 1 })
    }

    @Test func leaveSpreadsOnlyTheOrphans() {
        let map = assigned(4096, to: runs("a", "b", "c", "d"))
        let changes = map.rebalance(workers: runs("a", "b", "c"))
        #expect(changes.count == 1024)
        #expect(changes.allSatisfy { map.entries[$0.shard].owner == "d" })
        #expect(balanced(map.applying(changes), workers: ["a", "b", "c"]))
    }

    @Test func noWorkersUnassignsEverything() {
        let map = assigned(16, to: runs("a"))
        let next = map.applying(map.rebalance(workers: [:]))
        #expect(next.entries.allSatisfy { $0.owner == nil && $0.epoch == 2 })
    }

    @Test func restartKeepsShardsAndBumpsOnlyThatWorkersEpochs() {
        let map = assigned(10, to: ["a": 1, "b": 1])
        let changes = map.rebalance(workers: ["a": 2, "b": 1])
        #expect(changes.count == 5)
        #expect(changes.allSatisfy { $0.owner == "a" && $0.ownerIncarnation == 2 && $0.epoch == 2 && !$0.isMove(from: map) })
    }

    @Test func workerInRestartGraceKeepsItsShardsAndGetsNoOrphans() {
        let map = assigned(99, to: runs("a", "b", "c"))
        // c restarts (keeping), b dies: b's shards go to a only; c's stay as they are.
        let changes = map.rebalance(workers: runs("a"), keeping: ["c"])
        let next = map.applying(changes)
        #expect(next.shardCounts() == ["a": 66, "c": 33])
        #expect(changes.allSatisfy { map.entries[$0.shard].owner == "b" && $0.owner == "a" })
        // Back with a new run: its shards are re-fenced in place, nothing moves.
        let back = next.rebalance(workers: ["a": 1, "c": 2])
        let refenced = back.filter { !$0.isMove(from: next) }
        #expect(refenced.count == 33 && refenced.allSatisfy { $0.owner == "c" && $0.ownerIncarnation == 2 })
        #expect(back.filter { $0.isMove(from: next) }.count == 16)  // rebalancing a's surplus, nothing else
        #expect(next.applying(back).imbalance(over: ["a", "c"]) <= 1)
    }

    @Test func shardsAreSpreadOverPlacementsRoundRobin() {
        let map = ShardMap(shardCount: 10, placements: 3)
        #expect(map.entries.map(\.placement) == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
        let next = map.applying(map.rebalance(workers: runs("a", "b")))
        #expect(next.entries.map(\.placement) == map.entries.map(\.placement))
    }

    /// The placements each worker's shards live in.
    func placements(of map: ShardMap) -> [String: Set<Int>] {
        var spans: [String: Set<Int>] = [:]
        for entry in map.entries { if let owner = entry.owner { spans[owner, default: []].insert(entry.placement) } }
        return spans
    }

    @Test(arguments: [(4, 4), (2, 4), (8, 4), (3, 3), (2, 2)])
    func firstAssignmentGivesWorkersShardsOfTheirOwnPlacements(workers: Int, placementCount: Int) {
        let ids = runs(Array((0..<workers).map { "w\($0)" }))
        let map = assigned(4096, to: ids, placements: placementCount)
        #expect(balanced(map, workers: Set(ids.keys)))
        let spans = placements(of: map)
        // W ≤ P: each worker has P / W placements of its own; W > P: each worker one placement.
        #expect(spans.values.allSatisfy { $0.count == max(placementCount / workers, 1) })
        if workers <= placementCount {
            #expect(spans.values.reduce(Set<Int>()) { $0.union($1) }.count == placementCount)
            #expect(spans.values.map(\.count).reduce(0, +) == placementCount)  // no placement shared
        }
    }

    @Test func joinsOneByOneKeepWorkersOnFewPlacements() {
        var workers: [String: Int64] = [:]
        var map = ShardMap(shardCount: 4096, placements: 4)
        for id in ["a", "b", "c", "d"] {
            workers[id] = 1
            let changes = map.rebalance(workers: workers)
            if workers.count > 1 {
                #expect(Double(changes.count) <= 4096.0 / Double(workers.count) + 0.02 * 4096)
                #expect(changes.allSatisfy { $0.owner == id })
            }
            map = map.applying(changes)
            #expect(balanced(map, workers: Set(workers.keys)))
        }
        let spans = placements(of: map)
        // Without affinity every worker wrote to all four placements (16 pairs).
        #expect(spans["a"] == [0] && spans["b"] == [1])
        #expect(spans.values.map(\.count).reduce(0, +) <= 6)
        // A balanced map stays put, affinity or not.
        #expect(map.rebalance(workers: workers).isEmpty)
    }

    @Test func lanesOfAPlacementAreAllUsed() {
        for (placements, lanes) in [(1, 4), (2, 4), (4, 4), (3, 6), (8, 4)] {
            let shards = (0..<4096).filter { $0 % placements == 0 }
            let used = Set(shards.map { ShardMap.lane(of: $0, placements: placements, lanes: lanes) })
            #expect(used == Set(0..<lanes), "\(placements) placements, \(lanes) lanes")
            // Evenly: no lane has more than one shard above another.
            let counts = Dictionary(grouping: shards) { ShardMap.lane(of: $0, placements: placements, lanes: lanes) }.values.map(\.count)
            #expect(counts.max()! - counts.min()! <= 1)
        }
    }

    @Test func workerServesOnlyShardsOfItsOwnRun() {
        let map = assigned(8, to: ["a": 7, "b": 9])
        #expect(map.shards(ownedBy: "a", incarnation: 7).count == 4)
        #expect(map.shards(ownedBy: "a", incarnation: 8).isEmpty)
    }
}
