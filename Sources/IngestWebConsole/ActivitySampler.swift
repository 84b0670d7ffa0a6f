import IngestCore
import IngestGateway
import Logging
import ServiceLifecycle
import Synchronization

/// Samples the workers' running totals (reports committed; reports shed or fenced) and this
/// gateway's errors answered on an interval into an ``ActivityHistory``: the overview's chart and
/// the cluster page's reports per second by worker. Each gateway keeps its own hour, from its
/// first sample on.
public final class ActivitySampler: Service {
    let operations: OperatorService
    /// This gateway's 4xx and 5xx answers so far.
    let errors: @Sendable () -> Int
    let interval: Duration
    let clock: any IngestClock
    let logger: Logger
    let history = Mutex(ActivityHistory())

    init(operations: OperatorService, errors: @escaping @Sendable () -> Int, interval: Duration, clock: any IngestClock, logger: Logger) {
        self.operations = operations
        self.errors = errors
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Takes one sample now.
    public func sample() async {
        let workers = await operations.workerStats().map { stats in
            let object = JSONTree(parsing: stats)
            return ActivityHistory.WorkerTotals(
                id: object["id"].text, committed: object["reports_committed"].int ?? 0,
                refused: (object["reports_shed"].int ?? 0) + (object["reports_fenced"].int ?? 0))
        }
        let (errors, now) = (self.errors(), clock.now().milliseconds)
        history.withLock { $0.record(workers: workers, errors: errors, now: now) }
    }

    /// The last hour, minute by minute.
    func series(now: Int64) -> [ActivityHistory.Minute] { history.withLock { $0.series(now: now) } }

    /// Reports committed per second by worker over the last interval.
    var workerRates: [String: Double] { history.withLock { $0.workerRates } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.sample()
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}
