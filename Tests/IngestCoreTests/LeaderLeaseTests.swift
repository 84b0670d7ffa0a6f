import Testing
@testable import IngestCore

struct LeaderLeaseTests {
    func at(_ seconds: Int) -> Timestamp { Timestamp(milliseconds: Int64(seconds) * 1000) }

    @Test func takesRenewsAndLosesTheLease() {
        var lease = LeaderLease(duration: .seconds(10))
        #expect(lease.renewed(held: true, sentAt: at(0), now: at(0)) == .becameLeader)
        #expect(lease.isLeader(now: at(9)))
        #expect(lease.renewed(held: true, sentAt: at(2), now: at(2)) == .none)
        #expect(lease.isLeader(now: at(11)))
        #expect(lease.renewed(held: false, sentAt: at(4), now: at(4)) == .lostLeadership)
        #expect(!lease.isLeader(now: at(4)))
        #expect(lease.terms == 1)
    }

    /// A leader cut off from the catalog stops acting as leader when its last lease ends,
    /// measured from before the renewal was sent, so it never overlaps a standby that takes
    /// the expired row.
    @Test func catalogOutageEndsLeadershipAtTheLeasesEnd() {
        var lease = LeaderLease(duration: .seconds(10))
        _ = lease.renewed(held: true, sentAt: at(0), now: at(1))
        #expect(lease.renewalFailed(now: at(5)) == .none)
        #expect(lease.isLeader(now: at(9)))
        #expect(lease.renewalFailed(now: at(10)) == .lostLeadership)
        #expect(!lease.isLeader(now: at(10)))
    }

    /// Failover between two replicas on a fake clock: the standby's takes succeed only once the
    /// leader's lease expired, and it leads within the lease plus one cycle.
    @Test func standbyLeadsWithinTheLeaseAfterTheLeaderDies() {
        var row: (holder: String, expires: Timestamp)? = nil
        func acquire(_ holder: String, _ now: Timestamp) -> Bool {
            if row == nil || row!.holder == holder || row!.expires < now { row = (holder, now.advanced(by: .seconds(10))) }
            return row!.holder == holder
        }
        var first = LeaderLease(duration: .seconds(10)), second = LeaderLease(duration: .seconds(10))
        #expect(first.renewed(held: acquire("one", at(0)), sentAt: at(0), now: at(0)) == .becameLeader)
        #expect(second.renewed(held: acquire("two", at(1)), sentAt: at(1), now: at(1)) == .none)
        // "one" dies at 2 s (its last renewal); "two" keeps trying every 2 s.
        _ = first.renewed(held: acquire("one", at(2)), sentAt: at(2), now: at(2))
        var ledAt: Int?
        for second_ in stride(from: 3, through: 30, by: 2) where ledAt == nil {
            if second.renewed(held: acquire("two", at(second_)), sentAt: at(second_), now: at(second_)) == .becameLeader {
                ledAt = second_
            }
        }
        #expect(ledAt != nil && ledAt! <= 2 + 10 + 2)
        #expect(!first.isLeader(now: at(ledAt!)))
    }
}
