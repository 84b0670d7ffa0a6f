@testable import LoadTestRunner
import NIOCore
import NIOPosix
import Testing

/// The fleet's sensors run and sleep on their lane's event loop.
struct SensorLaneTests {
    /// Tasks on one lane sleeping in any order wake in the order of their deadlines, none before
    /// its own, each on the lane's loop; a sleep shorter than those already waiting still ends on time.
    @Test func sleepersWakeInDeadlineOrderAndNotBefore() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let lane = SensorLane(loop: group.next())
        let start = NIODeadline.now()
        // Milliseconds from start: 60 sleepers, the longest first, two sharing each deadline.
        let delays = (0..<60).map { 300 - ($0 / 2) * 8 }
        // In the order the tasks finished: one thread, so the order they woke in.
        let wakes = await withTaskGroup(of: (delay: Int, at: NIODeadline, onLoop: Bool).self) { tasks in
            for (index, delay) in delays.enumerated() {
                tasks.addTask(executorPreference: lane.executor) {
                    // Started apart, so later sleeps arrive while earlier ones wait.
                    await lane.sleep(until: start + .milliseconds(Int64(index)))
                    await lane.sleep(until: start + .milliseconds(Int64(delay)))
                    return (delay, NIODeadline.now(), lane.loop.inEventLoop)
                }
            }
            var wakes: [(delay: Int, at: NIODeadline, onLoop: Bool)] = []
            for await wake in tasks { wakes.append(wake) }
            return wakes
        }
        #expect(wakes.count == delays.count)
        #expect(wakes.allSatisfy { $0.onLoop })
        #expect(wakes.map(\.delay) == wakes.map(\.delay).sorted())
        for wake in wakes {
            #expect(wake.at >= start + .milliseconds(Int64(wake.delay)), "woke before its deadline of \(wake.delay) ms")
        }
        // Nothing left waiting, and no timer left scheduled.
        let state = try await lane.loop.submit { (lane.sleeper.state.value.heap.count, lane.sleeper.state.value.timers.count) }.get()
        #expect(state == (0, 0))
        try await group.shutdownGracefully()
    }
}
