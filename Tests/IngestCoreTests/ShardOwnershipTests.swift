import Testing
@testable import IngestCore

struct ShardOwnershipTests {
    func map(_ owners: [(String, Int64)], version: Int64, epoch: Int64 = 1) -> ShardMap {
        ShardMap(version: version, entries: owners.map { ShardMap.Entry(owner: $0.0, ownerIncarnation: $0.1, epoch: epoch) })
    }

    @Test func claimsItsShardsThenBecomesReady() {
        var ownership = ShardOwnership(memberID: "w1", incarnation: 7)
        #expect(!ownership.isReady)
        let change = ownership.mapRead(map([("w1", 7), ("w2", 1), ("w1", 7)], version: 1))
        #expect(change.claim == [0: 1, 2: 1])
        #expect(!ownership.isReady)
        ownership.claimed([0: 1])  // shard 2 was fenced by a newer owner
        #expect(ownership.isReady)
        #expect(ownership.refusal(shard: 0, epoch: 1) == nil)
        #expect(ownership.refusal(shard: 0, epoch: 2) == .shardMoved)
        #expect(ownership.refusal(shard: 2, epoch: 1) == .unavailable)
    }

    @Test func releasesWhatMovesAwayAtOnce() {
        var ownership = ShardOwnership(memberID: "w1", incarnation: 7)
        ownership.claimed(ownership.mapRead(map([("w1", 7), ("w1", 7)], version: 1)).claim)
        let change = ownership.mapRead(ShardMap(version: 2, entries: [
            ShardMap.Entry(owner: "w2", ownerIncarnation: 1, epoch: 2), ShardMap.Entry(owner: "w1", ownerIncarnation: 7, epoch: 1),
        ]))
        #expect(change.released == [0: 1])
        #expect(change.claim.isEmpty)
        #expect(ownership.owned == [1: 1])
    }

    @Test func ignoresShardsAssignedToAnotherRunOfTheSameID() {
        var ownership = ShardOwnership(memberID: "w1", incarnation: 8)
        let change = ownership.mapRead(map([("w1", 7)], version: 3))
        #expect(change.claim.isEmpty)
        #expect(ownership.isReady)  // nothing of its own run yet: ready with no shards
    }

    @Test func fencedShardsAreDroppedAndTheMapReadAgain() {
        var ownership = ShardOwnership(memberID: "w1", incarnation: 1)
        ownership.claimed(ownership.mapRead(map([("w1", 1), ("w1", 1)], version: 4)).claim)
        let dropped = ownership.fenced([0: 1, 1: 99])
        #expect(dropped == [0])
        #expect(ownership.needsMap(version: 4))
    }

    @Test func drainingRefusesEverythingAndIgnoresTheMap() {
        var ownership = ShardOwnership(memberID: "w1", incarnation: 1)
        ownership.claimed(ownership.mapRead(map([("w1", 1)], version: 1)).claim)
        let first = ownership.beginDrain(), second = ownership.beginDrain()
        #expect(first && !second)
        #expect(ownership.refusal(shard: 0, epoch: 1) == .draining)
        #expect(ownership.owned == [0: 1])  // batches accepted before still commit
        let change = ownership.mapRead(map([("w2", 1)], version: 2))
        #expect(change.isEmpty)
        #expect(!ownership.needsMap(version: 9))
    }

    @Test func failedClaimRetriesOnTheNextPoll() {
        var ownership = ShardOwnership(memberID: "w1", incarnation: 1)
        _ = ownership.mapRead(map([("w1", 1)], version: 5))
        #expect(!ownership.needsMap(version: 5))
        ownership.claimFailed()
        #expect(ownership.needsMap(version: 5))
    }
}
