import Testing
@testable import IngestCore

struct MembershipTests {
    let now = Timestamp(milliseconds: 100_000)

    func member(_ id: String, _ state: Membership.State, age: Int, role: Membership.Role = .worker, run: Int64 = 1)
        -> Membership.Member
    {
        Membership.Member(id: id, role: role, address: "", incarnation: run, lastHeartbeat: now.advanced(by: .seconds(-age)), state: state)
    }

    @Test func deadAfterTimeout() {
        let members = [
            member("w1", .active, age: 3), member("w2", .active, age: 11), member("w3", .draining, age: 0),
            member("g1", .active, age: 0, role: .gateway),
        ]
        #expect(Membership(deadAfter: .seconds(10)).liveWorkers(members, now: now) == ["w1"])
    }

    @Test func joiningWorkersHoldShardsUnderTheirCurrentRun() {
        let assignment = Membership().assignment([member("w1", .joining, age: 0, run: 5), member("w2", .active, age: 1, run: 3)], now: now)
        #expect(assignment.workers == ["w1": 5, "w2": 3])
        #expect(assignment.keeping.isEmpty)
    }

    @Test(arguments: [(Membership.State.gone, 4, true), (.gone, 11, false), (.draining, 9, true), (.draining, 10, false)])
    func cleanLeaverKeepsShardsForTheRestartGrace(state: Membership.State, age: Int, kept: Bool) {
        let assignment = Membership(deadAfter: .seconds(10), restartGrace: .seconds(10)).assignment([member("w1", state, age: age)], now: now)
        #expect(assignment.workers.isEmpty)
        #expect(assignment.keeping.contains("w1") == kept)
    }

    @Test func zeroGraceHandsShardsOverAtOnce() {
        let assignment = Membership(restartGrace: .zero).assignment([member("w1", .gone, age: 0)], now: now)
        #expect(assignment.keeping.isEmpty && assignment.workers.isEmpty)
    }

    @Test func lateButNotDead() {
        let late = member("w1", .active, age: 5)
        #expect(late.isLate(now: now, heartbeat: .seconds(2), deadAfter: .seconds(10)))
        #expect(!member("w2", .active, age: 1).isLate(now: now, heartbeat: .seconds(2), deadAfter: .seconds(10)))
        #expect(!member("w3", .active, age: 12).isLate(now: now, heartbeat: .seconds(2), deadAfter: .seconds(10)))
    }

    /// The whole failover on a fake clock: a worker stops heartbeating; its shards stay until it
    /// is dead, then move to the others, balanced, each with a bumped epoch.
    @Test func killedWorkerLosesItsShardsAfterTheTimeout() {
        var map = ShardMap(shardCount: 300)
        let membership = Membership(deadAfter: .seconds(10))
        var members = [member("a", .active, age: 0), member("b", .active, age: 0), member("c", .active, age: 0)]
        map = map.applying(map.rebalance(workers: membership.assignment(members, now: now).workers))
        // c is killed: no heartbeat for 9 s, then 10 s.
        for index in 0..<2 { members[index].lastHeartbeat = now.advanced(by: .seconds(9)) }
        #expect(map.rebalance(workers: membership.assignment(members, now: now.advanced(by: .seconds(9))).workers).isEmpty)
        for index in 0..<2 { members[index].lastHeartbeat = now.advanced(by: .seconds(10)) }
        let changes = map.rebalance(workers: membership.assignment(members, now: now.advanced(by: .seconds(10))).workers)
        #expect(changes.count == 100)
        #expect(changes.allSatisfy { map.entries[$0.shard].owner == "c" && $0.epoch == 2 })
        #expect(map.applying(changes).shardCounts() == ["a": 150, "b": 150])
    }
}
