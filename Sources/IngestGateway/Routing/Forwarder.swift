import IngestCore
import Metrics

/// The one way a call reaches the owner of a node's shard: route the node on the cached map,
/// call the owner, and while it answers that the shard moved or that nobody holds it right now
/// (a move or a restart in progress), re-read the map, wait a little longer each time, and call
/// again, until the deadline. Reports, control polls, findings, and the operator's commands and
/// scans all go through it.
public struct Forwarder: Sendable {
    public let router: ShardRouter
    /// How long one call may keep retrying (`--forward-timeout`).
    public let timeout: Duration
    let retries: Counter

    init(router: ShardRouter, timeout: Duration, retries: Counter) {
        self.router = router
        self.timeout = timeout
        self.retries = retries
    }

    /// Whether an owner's answer means "ask again on a fresh map": the shard moved, or no owner
    /// holds it right now. Overload is not retried.
    static func isRetryable(_ error: IngestError) -> Bool {
        error.code == .shardMoved || error.code == .unavailable
    }

    /// The pause before retry `attempt + 1`: 50 ms, 100 ms, 200 ms, … at most 1 s.
    static func backoff(attempt: Int) -> Duration {
        .milliseconds(min(50 << min(attempt - 1, 5), 1000))
    }

    /// Calls `send` with the node's route and hands its answer to `completion`, retrying as
    /// described above until `deadline` (default: now plus the forward timeout).
    public func forward<Answer: Sendable>(
        _ nodeID: String, deadline: ContinuousClock.Instant? = nil,
        _ send: @escaping @Sendable (ShardRouter.Route, @escaping @Sendable (Result<Answer, IngestError>) -> Void) -> Void,
        completion: @escaping @Sendable (Result<Answer, IngestError>) -> Void
    ) {
        attempt(1, nodeID, deadline: deadline ?? .now.advanced(by: timeout), send, completion: completion)
    }

    /// ``forward(_:deadline:_:completion:)`` for owner calls that are `async`.
    public func call<Answer: Sendable>(
        _ nodeID: String, _ send: @escaping @Sendable (ShardRouter.Route) async throws -> Answer
    ) async throws(IngestError) -> Answer {
        let result: Result<Answer, IngestError> = await withCheckedContinuation { continuation in
            forward(nodeID, { route, done in
                Task {
                    do { done(.success(try await send(route))) } catch let error as IngestError { done(.failure(error)) } catch {
                        done(.failure(.unavailable))
                    }
                }
            }, completion: { continuation.resume(returning: $0) })
        }
        return try result.get()
    }

    func attempt<Answer: Sendable>(
        _ attempt: Int, _ nodeID: String, deadline: ContinuousClock.Instant,
        _ send: @escaping @Sendable (ShardRouter.Route, @escaping @Sendable (Result<Answer, IngestError>) -> Void) -> Void,
        completion: @escaping @Sendable (Result<Answer, IngestError>) -> Void
    ) {
        let answered: @Sendable (Result<Answer, IngestError>) -> Void = { result in
            guard case .failure(let error) = result, Self.isRetryable(error), ContinuousClock.now < deadline else {
                return completion(result)
            }
            retries.increment()
            let router = self.router
            Task {
                await router.refreshNow()
                try? await Task.sleep(for: Self.backoff(attempt: attempt))
                self.attempt(attempt + 1, nodeID, deadline: deadline, send, completion: completion)
            }
        }
        switch router.route(nodeID) {
        case .failure(let error): answered(.failure(error))
        case .success(let route): send(route, answered)
        }
    }
}
