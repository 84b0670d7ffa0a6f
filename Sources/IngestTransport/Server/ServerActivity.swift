import NIOCore
import Synchronization

/// Tracks a server's open connections and requests in flight, for graceful shutdown and for
/// the operator's view of load.
public final class ServerActivity: Sendable {
    struct State {
        var connections: [ObjectIdentifier: any Channel] = [:]
        var accepted = 0
    }

    let state = Mutex(State())
    let inFlight = Atomic<Int>(0)
    let metrics = ServerMetrics()

    public init() {}

    func connectionOpened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let open = state.withLock {
            $0.connections[id] = channel
            $0.accepted += 1
            return $0.connections.count
        }
        metrics.connections.record(open)
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            let open = self.state.withLock {
                $0.connections.removeValue(forKey: id)
                return $0.connections.count
            }
            self.metrics.connections.record(open)
        }
    }

    func requestStarted() { inFlight.wrappingAdd(1, ordering: .relaxed) }
    func requestFinished(status: UInt) {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        metrics.responded(status)
    }

    /// Connections open now.
    public var openConnections: Int { state.withLock { $0.connections.count } }
    /// Requests handed to the responder and not yet answered.
    public var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }
    /// Connections accepted since start.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Closes every open connection.
    func closeAll() {
        let channels = state.withLock { Array($0.connections.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}
