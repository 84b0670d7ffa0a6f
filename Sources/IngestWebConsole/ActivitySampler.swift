import IngestCore
import IngestGateway
import Logging
import ServiceLifecycle
import Synchronization

/// Samples the workers' running totals (reports committed; reports shed or fenced) on an
/// interval into an ``ActivityHistory`` for the overview's chart. Each gateway keeps its own
/// hour, from its first sample on.
public final class ActivitySampler: Service {
    let operations: OperatorService
    let interval: Duration
    let clock: any IngestClock
    let logger: Logger
    let history = Mutex(ActivityHistory())

    init(operations: OperatorService, interval: Duration, clock: any IngestClock, logger: Logger) {
        self.operations = operations
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Takes one sample now.
    public func sample() async {
        var committed = 0
        var refused = 0
        for stats in await operations.workerStats() {
            let object = JSONTree(parsing: stats)
            committed += object["reports_committed"].int ?? 0
            refused += (object["reports_shed"].int ?? 0) + (object["reports_fenced"].int ?? 0)
        }
        let now = clock.now().milliseconds
        history.withLock { $0.record(committed: committed, refused: refused, now: now) }
    }

    /// The last hour, minute by minute.
    func series(now: Int64) -> [ActivityHistory.Minute] { history.withLock { $0.series(now: now) } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.sample()
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}
