import Testing
@testable import IngestCore

struct FlowControlTests {
    let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    @Test func beatRateRisesUnderAStandingBacklogAndFallsAfter() {
        var controller = BeatRateController(configuration: .init(baseBeatRate: 30, maximumBeatRate: 120, window: .seconds(10)))
        func observe(_ backlog: Int, at seconds: Int64) -> Int {
            controller.observe(backlog: backlog, capacity: 100, now: t0.advanced(by: .seconds(seconds)))
        }
        #expect(observe(80, at: 0) == 30)
        #expect(observe(70, at: 5) == 30)
        // The backlog stayed above half for the whole window: slow down.
        #expect(observe(90, at: 10) == 60)
        // Not again before the sensors can have heard of it (half the new beat, 30 s).
        #expect(observe(95, at: 20) == 60)
        #expect(observe(95, at: 30) == 60)
        #expect(observe(95, at: 40) == 120)
        #expect(observe(95, at: 50) == 120)
        #expect(observe(95, at: 100) == 120)
        // Draining: a middling window keeps the rate; quiet windows lower it by a quarter, each
        // only once a whole beat passed since the last change (120 s, then 90 s).
        #expect(observe(30, at: 110) == 120)
        #expect(observe(0, at: 120) == 120)
        #expect(observe(0, at: 150) == 120)
        #expect(observe(0, at: 160) == 90)
        #expect(observe(0, at: 240) == 90)
        #expect(observe(0, at: 250) == 68)
        #expect(observe(0, at: 318) == 51)
        #expect(observe(0, at: 369) == 39)
        #expect(observe(0, at: 408) == 30)
        #expect(observe(0, at: 1000) == 30)
    }

    @Test func theClusterBeatRisesWhenTheGatewaysForwardsAreRefusedForLoad() {
        let configuration = BeatRateController.Configuration(baseBeatRate: 30, maximumBeatRate: 960, window: .seconds(10))
        var beat = ClusterBeat(configuration: configuration, resuming: nil, now: t0)
        #expect(beat.published == nil)
        // Two gateways' totals, as their heartbeats write them every 2 s.
        var totals: [String: (forwarded: Int64, refused: Int64)] = ["g1": (5_000, 10), "g2": (7_000, 0)]
        func cycle(at seconds: Int64, g1: (Int64, Int64), g2: (Int64, Int64)) -> Int {
            totals["g1"]!.forwarded += g1.0
            totals["g1"]!.refused += g1.1
            totals["g2"]!.forwarded += g2.0
            totals["g2"]!.refused += g2.1
            return beat.observe(totals.map { ClusterBeat.Sample(id: $0.key, incarnation: 1, forwarded: $0.value.forwarded, refused: $0.value.refused) },
                                now: t0.advanced(by: .seconds(seconds)))
        }
        // The first read is a baseline: the totals from before it are not counted (else 10
        // refusals of 12,000 would decide nothing, but 12,000 is not this window's traffic).
        #expect(cycle(at: 0, g1: (0, 0), g2: (0, 0)) == 30)
        // One gateway refuses 20 % of what it forwards, the other nothing: 2 % of the cluster's
        // traffic, no change (a controller per gateway would have doubled g1's beat alone).
        for second in stride(from: 2, through: 10, by: 2) {
            #expect(cycle(at: Int64(second), g1: (100, 20), g2: (900, 0)) == 30)
        }
        // Both refuse 10 %: the cluster's beat doubles, and is published.
        for second in stride(from: 12, through: 20, by: 2) {
            _ = cycle(at: Int64(second), g1: (100, 10), g2: (900, 90))
        }
        #expect(beat.controller.beatRate == 60)
        #expect(beat.published == 60)
        // g2 restarts (a new incarnation, totals from zero): its new totals count whole, and a
        // quiet cluster stays where it is until a whole beat has passed.
        let restarted = [ClusterBeat.Sample(id: "g1", incarnation: 1, forwarded: totals["g1"]!.forwarded + 100, refused: totals["g1"]!.refused),
                         ClusterBeat.Sample(id: "g2", incarnation: 2, forwarded: 50, refused: 50)]
        #expect(beat.observe(restarted, now: t0.advanced(by: .seconds(22))) == 60)
        // 50 refused of 150 in a window of 150: raised again once half a beat has passed.
        #expect(beat.observe(restarted, now: t0.advanced(by: .seconds(50))) == 120)
        // Refusals in a quiet window (under 20 requests) do not raise it.
        var quiet = ClusterBeat(configuration: configuration, resuming: nil, now: t0)
        _ = quiet.observe([.init(id: "g", incarnation: 1, forwarded: 0, refused: 0)], now: t0)
        #expect(quiet.observe([.init(id: "g", incarnation: 1, forwarded: 10, refused: 10)], now: t0.advanced(by: .seconds(10))) == 30)
    }

    @Test func aNewLeaderResumesTheClusterBeatAndEasesItOnlyAfterAWholeBeat() {
        let configuration = BeatRateController.Configuration(baseBeatRate: 30, maximumBeatRate: 240, window: .seconds(10))
        var beat = ClusterBeat(configuration: configuration, resuming: 120, now: t0)
        #expect(beat.published == 120)
        let idle = [ClusterBeat.Sample(id: "g", incarnation: 1, forwarded: 0, refused: 0)]
        for second in stride(from: 0, through: 110, by: 10) { beat.observe(idle, now: t0.advanced(by: .seconds(Int64(second)))) }
        #expect(beat.published == 120)
        beat.observe(idle, now: t0.advanced(by: .seconds(120)))
        #expect(beat.published == 90)
        // A beat resumed beyond the bounds (set lower since) is held to them.
        #expect(ClusterBeat(configuration: configuration, resuming: 960, now: t0).published == 240)
        #expect(ClusterBeat(configuration: configuration, resuming: 10, now: t0).published == nil)
    }

    /// A fleet whose requests exceed what the path serves at the base beat: the beat must rise
    /// to one the path carries and stay in a band around it, not swing between base and maximum.
    @Test func theBeatSettlesWhereThePathCarriesTheFleet() {
        var controller = BeatRateController(configuration: .init(baseBeatRate: 30, maximumBeatRate: 960, window: .seconds(10)))
        // 100,000 sensors making three requests a beat (a report, two polls); the path serves
        // 2,400 requests a second, so it needs a beat of at least 125 s. Sensors take a new
        // beat within half the beat they have (their next poll).
        let sensors = 100_000.0, capacity = 2_400.0
        var sensorBeat = 30.0
        var heardAt = -1
        var beats: [Int] = []
        for second in 0..<7_200 {
            let now = t0.advanced(by: .seconds(Int64(second)))
            let offered = sensors * 3 / sensorBeat
            let refusedShare = max(0, 1 - capacity / offered)
            // 200 forwarded requests sampled a second, the refused share of them refused.
            let beat = controller.observe(forwarded: 200, refused: Int(refusedShare * 200), now: now)
            if Double(beat) != sensorBeat {
                if heardAt < 0 { heardAt = second + Int(sensorBeat / 2) }
                if second >= heardAt { sensorBeat = Double(beat); heardAt = -1 }
            }
            beats.append(beat)
        }
        let settled = beats.suffix(3_600)
        #expect(settled.min()! >= 125 * 3 / 4 && settled.max()! <= 2 * 125 + 10, "settled between \(settled.min()!) and \(settled.max()!)")
        #expect(!settled.contains(30) && !settled.contains(960))
    }

    @Test func aBurstThatDrainsWithinTheWindowDoesNotSlowTheFleet() {
        var controller = BeatRateController(configuration: .init(baseBeatRate: 30, window: .seconds(10)))
        #expect(controller.observe(backlog: 0, capacity: 100, now: t0) == 30)
        #expect(controller.observe(backlog: 99, capacity: 100, now: t0.advanced(by: .seconds(3))) == 30)
        #expect(controller.observe(backlog: 5, capacity: 100, now: t0.advanced(by: .seconds(6))) == 30)
        #expect(controller.observe(backlog: 60, capacity: 100, now: t0.advanced(by: .seconds(10))) == 30)
    }

    @Test func beatRateConfigurationIsValidated() {
        #expect(BeatRateController.Configuration(baseBeatRate: 1).validate() != nil)
        #expect(BeatRateController.Configuration(baseBeatRate: 30, maximumBeatRate: 20).validate() != nil)
        #expect(BeatRateController.Configuration().validate() == nil)
    }

    @Test func livenessGoesOfflineAfterMissedBeats() {
        let config = NodeLiveness.Configuration(missedBeats: 3, retention: .seconds(3600))
        var node = NodeLiveness(lastBeat: t0, beatRate: 30)
        #expect(node.sweep(now: t0.advanced(by: .seconds(89)), configuration: config) == .online)
        #expect(node.sweep(now: t0.advanced(by: .seconds(91)), configuration: config) == .wentOffline)
        #expect(node.sweep(now: t0.advanced(by: .seconds(120)), configuration: config) == .offline)
        let cameBack = node.beat(at: t0.advanced(by: .seconds(121)), beatRate: 30)
        #expect(cameBack)
        #expect(node.sweep(now: t0.advanced(by: .seconds(122)), configuration: config) == .online)
        #expect(node.sweep(now: t0.advanced(by: .seconds(121 + 3600)), configuration: config) == .expired)
    }

    @Test func livenessHonoursTheBeatRateTheNodeWasTold() {
        let config = NodeLiveness.Configuration(missedBeats: 3)
        var node = NodeLiveness(lastBeat: t0, beatRate: 120)
        #expect(node.sweep(now: t0.advanced(by: .seconds(300)), configuration: config) == .online)
        #expect(node.sweep(now: t0.advanced(by: .seconds(361)), configuration: config) == .wentOffline)
    }

    /// A seeded generator, so the draws are repeatable.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func beatsOfALargeBatchAreSpreadAroundTheBeat() {
        let spread = BeatSpread(configuration: .init(seconds: 2, batchThreshold: 8), baseBeatRate: 30)
        var generator = SeededGenerator(state: 7)
        // A small batch keeps the beat.
        #expect((0..<100).allSatisfy { _ in spread.beatRate(30, batchSize: 7, using: &generator) == 30 })
        // A large one spreads it over 28...32, every value drawn, the mean staying near 30.
        let beats = (0..<3000).map { _ in spread.beatRate(30, batchSize: 8, using: &generator) }
        #expect(Set(beats) == Set(28...32))
        let mean = Double(beats.reduce(0, +)) / Double(beats.count)
        #expect(abs(mean - 30) < 0.1, "mean \(mean)")
        // At most a tenth of the beat: a 3 s beat is not spread, a 10 s beat by 1 s at most.
        #expect((0..<100).allSatisfy { _ in spread.beatRate(3, batchSize: 50, using: &generator) == 3 })
        #expect(Set((0..<300).map { _ in spread.beatRate(10, batchSize: 50, using: &generator) }) == Set(9...11))
        // A raised beat spreads in proportion: 2 s at 30 s is 20 s at 300 s, so a clump
        // answered together comes back over 40 s, not 4.
        let raised = (0..<3000).map { _ in spread.beatRate(300, batchSize: 64, using: &generator) }
        #expect(raised.min() == 280 && raised.max() == 320)
        #expect(abs(Double(raised.reduce(0, +)) / Double(raised.count) - 300) < 1)
        // Still at most a tenth of the beat when the spread asks for more.
        let wide = BeatSpread(configuration: .init(seconds: 9, batchThreshold: 2), baseBeatRate: 30)
        #expect(Set((0..<600).map { _ in wide.beatRate(60, batchSize: 2, using: &generator) }) == Set(54...66))
        // Settings past any sense do not overflow: still a tenth.
        let absurd = BeatSpread(configuration: .init(seconds: Int.max / 2, batchThreshold: 2), baseBeatRate: 30)
        #expect(Set((0..<600).map { _ in absurd.beatRate(60, batchSize: 2, using: &generator) }) == Set(54...66))
        // Off.
        let off = BeatSpread(configuration: .init(seconds: 0, batchThreshold: 2), baseBeatRate: 30)
        #expect((0..<100).allSatisfy { _ in off.beatRate(300, batchSize: 64, using: &generator) == 300 })
    }

    @Test func beatSpreadSettingsAreChecked() {
        #expect(BeatSpread.Configuration().validate() == nil)
        #expect(BeatSpread.Configuration(seconds: -1).validate()?.contains("--beat-spread") == true)
        #expect(BeatSpread.Configuration(seconds: 0).validate() == nil)
        #expect(BeatSpread.Configuration(batchThreshold: 1).validate()?.contains("--beat-spread-batch") == true)
    }

    @Test func keyRateLimiterAdmitsTheBurstThenTheRate() {
        var limiter = KeyRateLimiter(rate: 10, burst: 20)
        func admitted(_ key: Int64, _ count: Int, at now: Timestamp) -> Int {
            (0..<count).reduce(0) { sum, _ in sum + (limiter.admit(key, now: now) ? 1 : 0) }
        }
        // A full bucket: 20 at once, then nothing in the same millisecond.
        #expect(admitted(1, 25, at: t0) == 20)
        // Another key has its own bucket.
        #expect(admitted(2, 1, at: t0) == 1)
        // 10 per second refill: 100 ms gives one, 50 ms more gives none, 1 s gives ten.
        #expect(admitted(1, 1, at: t0.advanced(by: .milliseconds(100))) == 1)
        #expect(admitted(1, 1, at: t0.advanced(by: .milliseconds(150))) == 0)
        #expect(admitted(1, 15, at: t0.advanced(by: .milliseconds(1150))) == 10)
        // A long pause refills to the burst, not beyond.
        let much = t0.advanced(by: .seconds(3600))
        #expect(admitted(1, 30, at: much) == 20)
        // A clock going back takes nothing and gives nothing.
        #expect(admitted(1, 1, at: t0) == 0)
    }

    @Test func keyRateLimiterOffAdmitsEverything() {
        var limiter = KeyRateLimiter(rate: 0, burst: 0)
        var refused = 0
        for step in 0..<100_000 where !limiter.admit(1, now: t0.advanced(by: .milliseconds(Int64(step % 3)))) {
            refused += 1
        }
        #expect(refused == 0)
        #expect(limiter.buckets.isEmpty)
    }
}
