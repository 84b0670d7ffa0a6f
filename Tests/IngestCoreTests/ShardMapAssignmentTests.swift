import Testing
@testable import IngestCore

struct ShardMapAssignmentTests {
    func balanced(_ map: ShardMap, workers: Set<String>) -> Bool {
        let counts = map.shardCounts()
        guard Set(counts.keys) == workers, map.placements.allSatisfy({ $0.owner != nil }) else { return false }
        return counts.values.max()! - counts.values.min()! <= 1
    }

    @Test(arguments: [1, 2, 3, 5, 7])
    func firstAssignmentIsBalanced(workerCount: Int) {
        let workers = Set((0..<workerCount).map { "w\($0)" })
        let map = ShardMap(shardCount: 4096)
        let changes = map.rebalance(workers: workers)
        #expect(changes.count == 4096)
        let next = map.applying(changes)
        #expect(balanced(next, workers: workers))
        #expect(next.version == 1)
        #expect(next.placements.allSatisfy { $0.epoch == 1 })
    }

    @Test func balancedMapDoesNotMove() {
        let workers: Set = ["a", "b", "c"]
        let map = ShardMap(shardCount: 100).applying(ShardMap(shardCount: 100).rebalance(workers: workers))
        #expect(map.rebalance(workers: workers).isEmpty)
    }

    @Test func joinMovesOnlyTheJoinersShare() {
        let map = ShardMap(shardCount: 4096).applying(ShardMap(shardCount: 4096).rebalance(workers: ["a", "b", "c"]))
        let changes = map.rebalance(workers: ["a", "b", "c", "d"])
        #expect(changes.count == 1024)
        #expect(changes.allSatisfy { $0.owner == "d" })
        let next = map.applying(changes)
        #expect(balanced(next, workers: ["a", "b", "c", "d"]))
        #expect(changes.allSatisfy { $0.epoch == map.placements[$0.shard].epoch + 1 })
    }

    @Test func leaveSpreadsOnlyTheOrphans() {
        let map = ShardMap(shardCount: 4096).applying(ShardMap(shardCount: 4096).rebalance(workers: ["a", "b", "c", "d"]))
        let changes = map.rebalance(workers: ["a", "b", "c"])
        #expect(changes.count == 1024)
        #expect(changes.allSatisfy { map.placements[$0.shard].owner == "d" })
        #expect(balanced(map.applying(changes), workers: ["a", "b", "c"]))
    }

    @Test func noWorkersUnassignsEverything() {
        let map = ShardMap(shardCount: 16).applying(ShardMap(shardCount: 16).rebalance(workers: ["a"]))
        let next = map.applying(map.rebalance(workers: []))
        #expect(next.placements.allSatisfy { $0.owner == nil && $0.epoch == 2 })
    }

    @Test func refencingBumpsOnlyThatWorkersEpochs() {
        let map = ShardMap(shardCount: 10).applying(ShardMap(shardCount: 10).rebalance(workers: ["a", "b"]))
        let changes = map.refencing(worker: "a")
        #expect(changes.count == 5)
        #expect(changes.allSatisfy { $0.owner == "a" && $0.epoch == 2 })
    }

    @Test func membershipDeadAfterTimeout() {
        let now = Timestamp(milliseconds: 100_000)
        let members = [
            Membership.Member(id: "w1", role: .worker, address: "", incarnation: 1, lastHeartbeat: now.advanced(by: .seconds(-3)), state: .active),
            Membership.Member(id: "w2", role: .worker, address: "", incarnation: 1, lastHeartbeat: now.advanced(by: .seconds(-11)), state: .active),
            Membership.Member(id: "w3", role: .worker, address: "", incarnation: 1, lastHeartbeat: now, state: .draining),
            Membership.Member(id: "g1", role: .gateway, address: "", incarnation: 1, lastHeartbeat: now, state: .active),
        ]
        #expect(Membership(deadAfter: .seconds(10)).liveWorkers(members, now: now) == ["w1"])
    }
}
