import LoadTestCore
import Testing

struct FindingsShipperTests {
    /// Runs a shipper to completion against a console that acknowledges everything; returns the
    /// batches it sent and when.
    func run(total: Int, rate: Double) -> (batches: [(at: Double, range: Range<Int>)], statuses: [String]) {
        var shipper = FindingsShipper(scanID: "n-1", kind: "vulnerability", total: total, rate: rate, now: 0)
        var now = 0.0
        var batches: [(at: Double, range: Range<Int>)] = []
        var statuses: [String] = []
        for _ in 0..<10_000 {
            switch shipper.nextAction(now: now) {
            case .sleep(let until):
                #expect(until >= now)
                now = max(until, now + 0.001)
            case .sendStatus(let status):
                statuses.append(status)
                shipper.statusAnswered(status, ok: true, now: now)
            case .sendFindings(let range):
                batches.append((now, range))
                shipper.findingsAnswered(range, ok: true, now: now)
            case .done:
                return (batches, statuses)
            }
        }
        Issue.record("the shipper never finished")
        return (batches, statuses)
    }

    @Test func aFastScanShipsFullBatchesOfAHundred() {
        let (batches, statuses) = run(total: 450, rate: 1000)
        #expect(statuses == ["IN_PROGRESS", "COMPLETE"])
        #expect(batches.map(\.range.count) == [100, 100, 100, 100, 50])
        #expect(batches.map(\.range.lowerBound) == [0, 100, 200, 300, 400])
    }

    @Test func aSlowScanShipsWhatItHasEveryFiveSeconds() {
        let (batches, _) = run(total: 60, rate: 4)
        // 4 findings a second: a batch never fills, so one goes every 5 s (and the last at the end).
        #expect(batches.allSatisfy { $0.range.count <= 100 })
        #expect(batches.count >= 3)
        for (previous, next) in zip(batches, batches.dropFirst()) {
            #expect(next.at - previous.at >= FindingsShipper.flushSeconds - 0.01 || next.range.upperBound == 60)
        }
        #expect(batches.last?.range.upperBound == 60)
    }

    @Test func aRefusedBatchIsSentAgain() {
        var shipper = FindingsShipper(scanID: "n-1", kind: "secret", total: 100, rate: 1000, now: 0)
        shipper.statusAnswered("IN_PROGRESS", ok: true, now: 0)
        guard case .sendFindings(let range) = shipper.nextAction(now: 1) else {
            Issue.record("no batch")
            return
        }
        shipper.findingsAnswered(range, ok: false, now: 1)
        #expect(shipper.nextAction(now: 2) == .sleep(until: 1 + FindingsShipper.retrySeconds))
        #expect(shipper.nextAction(now: 3.5) == .sendFindings(range))
    }

    @Test func recordsAreUpstreamShaped() throws {
        let shipper = FindingsShipper(scanID: "n-1", kind: "malware", total: 1, rate: 1, now: 0)
        let record = shipper.record(3, host: "h")
        #expect(record.contains(#""scan_id":"n-1""#) && record.contains(#""rule_name":"rule-3""#) && record.contains(#""complete_filename":"#))
    }
}
