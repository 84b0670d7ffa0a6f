import NIOCore
import Synchronization

/// Tracks a server's open connections and requests in flight, for graceful shutdown and for
/// the operator's view of load.
public final class ServerActivity: Sendable {
    struct State {
        var connections: [ObjectIdentifier: any Channel] = [:]
        /// Open connections per client IP address.
        var perAddress: [String: Int] = [:]
        var accepted = 0
    }

    let state = Mutex(State())
    let inFlight = Atomic<Int>(0)
    let metrics: ServerMetrics

    /// `listener` names the listener in its metrics (public, internal, metrics).
    public init(listener: String = "public") {
        metrics = ServerMetrics(listener: listener)
    }

    /// Registers an accepted connection; false (and the connection not registered) when its
    /// client address already holds `maxPerAddress` connections (0: no limit).
    func connectionOpened(_ channel: any Channel, maxPerAddress: Int = 0) -> Bool {
        let id = ObjectIdentifier(channel)
        let address = channel.remoteAddress?.ipAddress ?? ""
        let open: Int? = state.withLock {
            let held = $0.perAddress[address, default: 0]
            if maxPerAddress > 0 && held >= maxPerAddress { return nil }
            $0.perAddress[address] = held + 1
            $0.connections[id] = channel
            $0.accepted += 1
            return $0.connections.count
        }
        guard let open else {
            metrics.refusedPerAddress.increment()
            return false
        }
        metrics.connections.record(open)
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            let open = self.state.withLock {
                $0.connections.removeValue(forKey: id)
                let held = $0.perAddress[address, default: 1] - 1
                $0.perAddress[address] = held > 0 ? held : nil
                return $0.connections.count
            }
            self.metrics.connections.record(open)
        }
        return true
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
