import Testing
@testable import IngestCore

struct FlowControlTests {
    let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    @Test func beatRateRisesUnderAStandingBacklogAndFallsAfter() {
        var controller = BeatRateController(configuration: .init(baseBeatRate: 30, maximumBeatRate: 120, window: .seconds(10)))
        #expect(controller.observe(backlog: 80, capacity: 100, now: t0) == 30)
        #expect(controller.observe(backlog: 70, capacity: 100, now: t0.advanced(by: .seconds(5))) == 30)
        // The backlog stayed above half for the whole window: slow down.
        #expect(controller.observe(backlog: 90, capacity: 100, now: t0.advanced(by: .seconds(10))) == 60)
        #expect(controller.observe(backlog: 95, capacity: 100, now: t0.advanced(by: .seconds(20))) == 120)
        #expect(controller.observe(backlog: 95, capacity: 100, now: t0.advanced(by: .seconds(30))) == 120)
        // Draining: a middling window keeps the rate, quiet windows halve it back to the base.
        #expect(controller.observe(backlog: 30, capacity: 100, now: t0.advanced(by: .seconds(40))) == 120)
        #expect(controller.observe(backlog: 0, capacity: 100, now: t0.advanced(by: .seconds(50))) == 120)
        #expect(controller.observe(backlog: 0, capacity: 100, now: t0.advanced(by: .seconds(60))) == 60)
        #expect(controller.observe(backlog: 0, capacity: 100, now: t0.advanced(by: .seconds(70))) == 30)
        #expect(controller.observe(backlog: 0, capacity: 100, now: t0.advanced(by: .seconds(80))) == 30)
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
        let spread = BeatSpread(configuration: .init(seconds: 2, batchThreshold: 8))
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
        // Off.
        let off = BeatSpread(configuration: .init(seconds: 0, batchThreshold: 2))
        #expect((0..<100).allSatisfy { _ in off.beatRate(30, batchSize: 64, using: &generator) == 30 })
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
