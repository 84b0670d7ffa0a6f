import NIOCore
import Synchronization

/// Tracks a server's open connections and requests in flight, for graceful shutdown and for
/// the operator's view of load.
public final class ServerActivity: Sendable {
    struct State {
        var connections: [ObjectIdentifier: any Channel] = [:]
        var inFlight = 0
        var accepted = 0
    }

    let state = Mutex(State())

    public init() {}

    func connectionOpened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock {
            $0.connections[id] = channel
            $0.accepted += 1
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    func requestStarted() { state.withLock { $0.inFlight += 1 } }
    func requestFinished() { state.withLock { $0.inFlight -= 1 } }

    /// Connections open now.
    public var openConnections: Int { state.withLock { $0.connections.count } }
    /// Requests handed to the responder and not yet answered.
    public var requestsInFlight: Int { state.withLock { $0.inFlight } }
    /// Connections accepted since start.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Closes every open connection.
    func closeAll() {
        let channels = state.withLock { Array($0.connections.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}
