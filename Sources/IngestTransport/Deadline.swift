import NIOCore
import NIOPosix
import Synchronization

/// Runs `work` and returns its result, or nil once `timeout` passed without one; the work is
/// then abandoned, not awaited (a task group would wait for it). For calls that may never
/// answer: a forwarded request to a paused worker, a database call on a connection that died
/// without the client noticing (seen after a SIGSTOP long enough for the server to end the
/// session), which would otherwise hold a write lane forever.
public func withDeadline<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T? {
    let outcome: Result<T, any Error>? = await withCheckedContinuation { continuation in
        let once = Mutex<CheckedContinuation<Result<T, any Error>?, Never>?>(continuation)
        let finish: @Sendable (Result<T, any Error>?) -> Void = { result in
            once.withLock { pending in
                defer { pending = nil }
                return pending
            }?.resume(returning: result)
        }
        let (seconds, attoseconds) = timeout.components
        let timer = deadlineLoop.scheduleTask(
            in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) { finish(nil) }
        Task {
            do { finish(.success(try await work())) } catch { finish(.failure(error)) }
            timer.cancel()
        }
    }
    return try outcome?.get()
}

/// The event loop the deadlines' timers run on: one of their own. On the connections' loops a
/// cancelled timer is removed from a heap that also holds every connection's idle timer
/// (thousands at 10,000 sensors), and each write batch cancels one; here the heap holds only the
/// deadlines in flight.
private let deadlineGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
private var deadlineLoop: any EventLoop { deadlineGroup.next() }
