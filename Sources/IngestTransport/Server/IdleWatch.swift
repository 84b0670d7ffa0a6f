import NIOCore

/// Closes a connection that saw no traffic for a timeout, checked from a timer rather than on
/// every read and write (no extra handler on the hot path): reads set a flag; the timer, every
/// half timeout, closes the connection after two checks in a row without reads while nothing is
/// in progress on it.
final class IdleWatch {
    let timeout: TimeAmount
    private var active = true
    private var quietChecks = 0
    private var task: RepeatedTask?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func sawActivity() { active = true }

    /// Starts checking; `isIdle` says whether nothing is in progress on the connection.
    func start(context: ChannelHandlerContext, isIdle: @escaping () -> Bool) {
        guard timeout > .zero, task == nil else { return }
        let interval = TimeAmount.nanoseconds(max(timeout.nanoseconds / 2, 1_000_000))
        let bound = NIOLoopBound((self, context, isIdle), eventLoop: context.eventLoop)
        task = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (watch, context, isIdle) = bound.value
            watch.check(context: context, isIdle: isIdle)
        }
    }

    private func check(context: ChannelHandlerContext, isIdle: () -> Bool) {
        if active {
            active = false
            quietChecks = 0
            return
        }
        quietChecks += 1
        if quietChecks >= 2 && isIdle() {
            context.close(promise: nil)
        }
    }

    func stop() {
        task?.cancel()
        task = nil
    }
}
