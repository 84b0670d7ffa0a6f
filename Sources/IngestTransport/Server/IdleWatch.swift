import Metrics
import NIOCore

/// Closes a connection (or an HTTP/2 stream channel) that saw no traffic for a timeout, whose
/// oldest request has been arriving for longer than the request timeout (slowloris: a request
/// trickled a byte at a time keeps the connection busy, not idle), or that has been unwritable
/// for that long (a slow reader). Checked from a
/// timer rather than on every read and write (no extra handler on the hot path): reads set a
/// flag; the timer closes the connection after enough checks in a row without reads while
/// nothing is in progress on it.
final class IdleWatch {
    let timeout: TimeAmount
    let requestTimeout: TimeAmount
    let metrics: ServerMetrics
    let interval: TimeAmount
    /// Checks in a row without reads that make the idle timeout.
    let quietChecksToClose: Int
    private var active = true
    private var quietChecks = 0
    private var unwritableSince: NIODeadline?
    private var task: RepeatedTask?

    /// Whether the watched channel is an HTTP/2 stream (whose parent is its connection).
    let watchesStream: Bool

    /// A zero timeout is off.
    init(timeout: TimeAmount, requestTimeout: TimeAmount = .zero, watchesStream: Bool = false, metrics: ServerMetrics) {
        self.watchesStream = watchesStream
        self.timeout = timeout
        self.requestTimeout = requestTimeout
        self.metrics = metrics
        let shortest = [timeout, requestTimeout].filter { $0 > .zero }.min() ?? .zero
        interval = .nanoseconds(max(shortest.nanoseconds / 2, 1_000_000))
        quietChecksToClose = timeout > .zero
            ? max(Int((timeout.nanoseconds + interval.nanoseconds - 1) / interval.nanoseconds), 2) : .max
    }

    func sawActivity() { active = true }

    /// Starts checking; `isIdle` says whether nothing is in progress on the connection,
    /// `oldestRequest` when the oldest request still arriving began (nil: none).
    func start(context: ChannelHandlerContext, isIdle: @escaping () -> Bool, oldestRequest: @escaping () -> NIODeadline? = { nil }) {
        guard timeout > .zero || requestTimeout > .zero, task == nil else { return }
        let bound = NIOLoopBound((self, context, isIdle, oldestRequest), eventLoop: context.eventLoop)
        task = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (watch, context, isIdle, oldestRequest) = bound.value
            watch.check(context: context, isIdle: isIdle, oldestRequest: oldestRequest)
        }
    }

    private func check(context: ChannelHandlerContext, isIdle: () -> Bool, oldestRequest: () -> NIODeadline?) {
        if requestTimeout > .zero, let started = oldestRequest(), NIODeadline.now() - started > requestTimeout {
            // The whole connection, also from an HTTP/2 stream channel (multiplexed mode): a
            // reset stream would leave the client free to trickle the next one. (A connection's
            // own parent is the listening socket: never that.)
            return close(watchesStream ? context.channel.parent ?? context.channel : context.channel, counting: metrics.closedSlowRequest)
        }
        // Slow reads: a client that stops reading its answers leaves its connection unwritable
        // (an HTTP/2 stream's writability is its flow-control window instead: not watched).
        if requestTimeout > .zero && !watchesStream {
            if context.channel.isWritable {
                unwritableSince = nil
            } else if let since = unwritableSince {
                if NIODeadline.now() - since > requestTimeout { return close(context.channel, counting: metrics.closedSlowRead) }
            } else {
                unwritableSince = .now()
            }
        }
        if active {
            active = false
            quietChecks = 0
            return
        }
        quietChecks += 1
        if quietChecks >= quietChecksToClose && isIdle() { close(context.channel, counting: metrics.closedIdle) }
    }

    private func close(_ channel: any Channel, counting reason: Counter) {
        reason.increment()
        stop()
        channel.close(promise: nil)
    }

    func stop() {
        task?.cancel()
        task = nil
    }
}
