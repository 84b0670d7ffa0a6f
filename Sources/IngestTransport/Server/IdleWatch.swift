import Metrics
import NIOCore
import Synchronization

/// Closes a connection (or an HTTP/2 stream channel) that saw no traffic for a timeout, whose
/// oldest request has been arriving for longer than the request timeout (slowloris: a request
/// trickled a byte at a time keeps the connection busy, not idle), or that has been unwritable
/// for that long (a slow reader). Checked from a
/// timer rather than on every read and write (no extra handler on the hot path): reads set a
/// flag; the timer closes the connection after enough checks in a row without reads while
/// nothing is in progress on it. One timer per event loop checks every watch on it
/// (``IdleSweep``), not one per connection.
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
    /// The sweep checking this watch while it runs.
    private var sweep: IdleSweep?

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
        guard timeout > .zero || requestTimeout > .zero, sweep == nil else { return }
        sweep = IdleSweep.join(ObjectIdentifier(self), loop: context.eventLoop, interval: interval) {
            self.check(context: context, isIdle: isIdle, oldestRequest: oldestRequest)
        }
    }

    private func check(context: ChannelHandlerContext, isIdle: () -> Bool, oldestRequest: () -> NIODeadline?) {
        // A stream whose connection this sweep already closed (its handler is removed a little
        // later): not counted again.
        if watchesStream, context.channel.parent?.isActive == false { return }
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
        sweep?.leave(ObjectIdentifier(self))
        sweep = nil
    }
}

/// One repeated timer per event loop (and check interval) that runs the checks of every
/// ``IdleWatch`` started on that loop. A timer per connection put one entry per connection on
/// each loop's timer heap, each re-armed every interval (thousands at 10,000 sensors: 2–3 % of
/// the console's CPU in a profile of 6,000). The sweep stops and is forgotten when its last
/// watch leaves; it holds its loop, so no other loop can take the loop's identity meanwhile.
final class IdleSweep: Sendable {
    struct Key: Hashable {
        let loop: ObjectIdentifier
        let interval: Int64
    }

    private static let running = Mutex<[Key: IdleSweep]>([:])

    let key: Key
    let loop: any EventLoop
    /// The checks of the watches on this loop, by watch.
    private let checks: NIOLoopBoundBox<[ObjectIdentifier: () -> Void]>
    private let task: NIOLoopBoundBox<RepeatedTask?>

    private init(key: Key, loop: any EventLoop) {
        self.key = key
        self.loop = loop
        checks = NIOLoopBoundBox([:], eventLoop: loop)
        task = NIOLoopBoundBox(nil, eventLoop: loop)
    }

    /// On `loop`: runs `check` every `interval` (from the sweep's next tick) until ``leave(_:)``.
    static func join(_ id: ObjectIdentifier, loop: any EventLoop, interval: TimeAmount, check: @escaping () -> Void) -> IdleSweep {
        loop.preconditionInEventLoop()
        let key = Key(loop: ObjectIdentifier(loop), interval: interval.nanoseconds)
        let sweep = running.withLock { running in
            if let sweep = running[key] { return sweep }
            let sweep = IdleSweep(key: key, loop: loop)
            running[key] = sweep
            return sweep
        }
        sweep.checks.value[id] = check
        if sweep.task.value == nil {
            sweep.task.value = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in sweep.tick() }
        }
        return sweep
    }

    /// On the sweep's loop: stops running `id`'s check; the last to leave stops the sweep.
    func leave(_ id: ObjectIdentifier) {
        checks.value[id] = nil
        guard checks.value.isEmpty else { return }
        task.value?.cancel()
        task.value = nil
        Self.running.withLock { running in
            if running[key] === self { running[key] = nil }
        }
    }

    private func tick() {
        // A check may close its connection, and its watch leave, while the others run.
        for (id, check) in checks.value where checks.value[id] != nil { check() }
    }
}
