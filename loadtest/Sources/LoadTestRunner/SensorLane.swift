import NIOCore
import NIOPosix

/// An event loop the fleet's sensors run on: their connections are read on it, their tasks run on
/// it (``executor``) and they sleep on it (``sleep(until:)``). A request is written and its answer
/// resumes the sensor on the thread that reads the connection, and a sleep ends on that thread
/// too, with no wake-up of another thread either way.
final class SensorLane: Sendable {
    let loop: any EventLoop
    let executor: EventLoopTaskExecutor
    let sleeper: LoopSleeper

    init(loop: any EventLoop) {
        self.loop = loop
        self.executor = EventLoopTaskExecutor(loop)
        self.sleeper = LoopSleeper(loop: loop)
    }

    /// One lane per loop of NIO's shared group, for the whole process: every sleeper of a loop
    /// waits in its one heap.
    static let all: [SensorLane] = MultiThreadedEventLoopGroup.singleton.makeIterator().map { SensorLane(loop: $0) }

    /// The lane of the shared group's next loop (its loops in turn).
    static func next() -> SensorLane {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return all.first { $0.loop === loop } ?? all[0]
    }

    /// Sleeps until `deadline`; called from a task running on this lane's loop.
    func sleep(until deadline: NIODeadline) async {
        await sleeper.sleep(until: deadline)
    }
}

/// Runs the tasks that prefer it on one event loop (SE-0417 task executor preference): a job
/// enqueued from the loop's own thread waits for the loop's next turn without waking anything.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// The sleeps of the tasks on one event loop: their continuations in a heap by deadline (moved,
/// not retained, as it sifts), and a NIO timer only for the earliest. A NIO timer per sleep kept thousands of entries in the loop's
/// timer heap, each a task and a promise retained and released as the heap sifts (7.5 % of a
/// profile's samples of the fleet at 6,000 sensors).
final class LoopSleeper: Sendable {
    struct State: Sendable {
        typealias Sleeper = (deadline: UInt64, continuation: CheckedContinuation<Void, Never>)
        /// Min-heap of the sleepers by deadline (uptime nanoseconds).
        var heap: [Sleeper] = []
        /// Deadlines of the NIO timers scheduled and not yet fired.
        var timers: [UInt64] = []

        mutating func push(_ entry: Sleeper) {
            heap.append(entry)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].deadline < heap[parent].deadline else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }

        mutating func popFirst() -> Sleeper? {
            guard !heap.isEmpty else { return nil }
            heap.swapAt(0, heap.count - 1)
            let first = heap.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
                if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
                guard smallest != parent else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
            return first
        }
    }

    let loop: any EventLoop
    let state: NIOLoopBoundBox<State>

    init(loop: any EventLoop) {
        self.loop = loop
        self.state = .makeBoxSendingValue(State(), eventLoop: loop)
    }

    /// Sleeps until `deadline`; called from a task running on this loop.
    func sleep(until deadline: NIODeadline) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            state.value.push((deadline.uptimeNanoseconds, continuation))
            arm()
        }
    }

    /// Schedules a NIO timer for the earliest sleeper unless one at or before it is scheduled.
    func arm() {
        guard let first = state.value.heap.first?.deadline else { return }
        if let earliest = state.value.timers.min(), earliest <= first { return }
        state.value.timers.append(first)
        loop.scheduleTask(deadline: .uptimeNanoseconds(first)) { self.fire(first) }
    }

    /// A timer fired: wakes every sleeper due by now and arms the next.
    func fire(_ timer: UInt64) {
        if let index = state.value.timers.firstIndex(of: timer) { state.value.timers.remove(at: index) }
        let now = NIODeadline.now().uptimeNanoseconds
        var due: [CheckedContinuation<Void, Never>] = []
        while let first = state.value.heap.first?.deadline, first <= now, let sleeper = state.value.popFirst() {
            due.append(sleeper.continuation)
        }
        arm()
        // Each resumes on this loop's next turn (its task prefers this loop).
        for continuation in due { continuation.resume() }
    }
}
