import Synchronization

/// A one-way signal for long-lived loops: once ``fire()`` is called (shutdown began, say), every
/// ``sleep(for:)`` under way returns at once and every later one returns without sleeping.
///
/// A loop that must stop promptly sleeps its whole interval on a latch instead of waking every
/// 50 or 100 ms to read a flag: an idle console spent most of its CPU on such wake-ups (a timer,
/// a pool thread woken and put back to sleep, sixty times a second; docs/benchmarks.md).
///
/// ## Implementation
/// ``wait()`` parks a continuation under the latch's lock; ``fire()`` takes them all and resumes
/// them outside it. A waiting task that is cancelled removes and resumes its own continuation; the
/// check for cancellation and the parking happen under the same lock the cancellation handler
/// takes, so a cancellation that races the parking is never missed. ``sleep(for:)`` races a timer
/// against ``wait()`` in a task group and cancels the loser.
public final class Latch: Sendable {
    struct State {
        var fired = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    let state = Mutex(State())

    public init() {}

    /// Whether ``fire()`` was called.
    public var isFired: Bool { state.withLock { $0.fired } }

    /// Fires the latch (again: nothing more happens) and wakes everything waiting on it.
    public func fire() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard !state.fired else { return [] }
            state.fired = true
            let waiting = Array(state.waiters.values)
            state.waiters.removeAll()
            return waiting
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the latch has fired, or as soon as the calling task is cancelled.
    public func wait() async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Sleeps for `duration`, or until the latch fires or the calling task is cancelled, whichever
    /// comes first. Returns whether the latch has fired.
    @discardableResult
    public func sleep(for duration: Duration) async -> Bool {
        guard !isFired else { return true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await self.wait() }
            await group.next()
            group.cancelAll()
        }
        return isFired
    }
}
