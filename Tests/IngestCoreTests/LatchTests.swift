import Testing
@testable import IngestCore

@Suite(.timeLimit(.minutes(1)))
struct LatchTests {
    @Test func aSleepRunsItsDurationWhenTheLatchDoesNotFire() async {
        let latch = Latch()
        let started = ContinuousClock.now
        let fired = await latch.sleep(for: .milliseconds(50))
        #expect(!fired)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func firingWakesASleepUnderWayAtOnce() async {
        let latch = Latch()
        let started = ContinuousClock.now
        async let fired = latch.sleep(for: .seconds(60))
        try? await Task.sleep(for: .milliseconds(20))
        latch.fire()
        #expect(await fired)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func everySleeperWakesAndLaterSleepsDoNotWait() async {
        let latch = Latch()
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { await latch.sleep(for: .seconds(60)) } }
            try? await Task.sleep(for: .milliseconds(20))
            latch.fire()
            latch.fire()
            for await fired in group { #expect(fired) }
        }
        let started = ContinuousClock.now
        #expect(await latch.sleep(for: .seconds(60)))
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(latch.isFired)
        #expect(latch.state.withLock { $0.waiters.isEmpty })
    }

    @Test func aCancelledSleepReturnsAtOnceWithoutTheLatchFiring() async {
        let latch = Latch()
        let started = ContinuousClock.now
        let sleeper = Task { await latch.sleep(for: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        #expect(await sleeper.value == false)
        #expect(ContinuousClock.now - started < .seconds(10))
        // The cancelled waiter left nothing parked behind.
        #expect(latch.state.withLock { $0.waiters.isEmpty })
    }

    @Test func aWaitInACancelledTaskDoesNotPark() async {
        let latch = Latch()
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await latch.wait()
        }
        await waiter.value
        #expect(latch.state.withLock { $0.waiters.isEmpty })
        #expect(!latch.isFired)
    }
}
