import Foundation
import IngestTransport
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Where the fleet connects, and how.
public struct FleetTarget: Sendable {
    public let host: String
    public let port: Int
    public let serverName: String?
    public let tls: NIOSSLContext
    public let http2: Bool
    /// The URL as given.
    public let url: String

    /// `https://host:port`; `caPEM` verifies the console (nil: no verification, as sensors).
    public init(url: String, caPEM: String?, http2: Bool) throws {
        guard let components = URLComponents(string: url), components.scheme == "https", let host = components.host else {
            throw FleetError("the console URL must look like https://host:port, not \(url)")
        }
        self.url = url
        self.host = host
        self.port = components.port ?? 443
        let isAddress = host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        self.serverName = isAddress ? nil : host
        self.tls = try TLSMaterial.clientContext(trusting: caPEM, alpn: http2 ? ["h2"] : ["http/1.1"])
        self.http2 = http2
    }

    /// Connects on `loop` (any of NIO's loops by default).
    public func connect(on loop: (any EventLoop)? = nil) async throws -> HTTPClientConnection {
        try await HTTPClientConnection.connect(
            host: host, port: port, tls: tls, serverName: serverName, http2: http2, group: loop ?? MultiThreadedEventLoopGroup.singleton)
    }
}

/// A failure of the load-test tool itself, reported in one line.
public struct FleetError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One connection shared by a group of sensors (one sensor by default), connected on first use
/// and again after it breaks, always on its lane's event loop (``SensorLane``), where the
/// sensors of the slot run and sleep too. Not an actor: a request takes the connection without a hop.
final class SensorConnection: Sendable {
    let target: FleetTarget
    let lane: SensorLane
    let current = Mutex<HTTPClientConnection?>(nil)

    init(target: FleetTarget, lane: SensorLane = .next()) {
        self.target = target
        self.lane = lane
    }

    func get() async throws -> HTTPClientConnection {
        if let connection = current.withLock({ $0 }), connection.isActive { return connection }
        let fresh = try await target.connect(on: lane.loop)
        // Another sensor of the slot may have connected meanwhile: one connection is kept.
        let kept = current.withLock { current -> HTTPClientConnection in
            if let existing = current, existing.isActive { return existing }
            current = fresh
            return fresh
        }
        if kept !== fresh { await fresh.close() }
        return kept
    }

    /// Drops a connection that failed, so the next request connects anew.
    func discard(_ failed: HTTPClientConnection) async {
        current.withLock { if $0 === failed { $0 = nil } }
        await failed.close()
    }

    func close() async {
        if let connection = current.withLock({ current in defer { current = nil }; return current }) { await connection.close() }
    }
}

/// Requests in flight and when each gives up (`--request-timeout`): a sweep every second closes
/// the connection of a request past its time, which fails the request. (A task and a timer per
/// request, as before, cost the fleet more than the request's own work.)
final class RequestDeadlines: Sendable {
    struct Entry: Sendable {
        let deadline: ContinuousClock.Instant
        let connection: HTTPClientConnection
        let slot: SensorConnection
    }

    let state = Mutex<(next: UInt64, open: [UInt64: Entry])>((0, [:]))

    /// Registers a request; its ticket for ``close(_:)``.
    func open(_ entry: Entry) -> UInt64 {
        state.withLock { state in
            state.next += 1
            state.open[state.next] = entry
            return state.next
        }
    }

    func close(_ ticket: UInt64) {
        state.withLock { _ = $0.open.removeValue(forKey: ticket) }
    }

    /// Closes the connections of the requests past their time.
    func sweep() async {
        let now = ContinuousClock.now
        let expired = state.withLock { state in
            let tickets = state.open.filter { $0.value.deadline <= now }.map(\.key)
            return tickets.compactMap { state.open.removeValue(forKey: $0) }
        }
        for entry in expired { await entry.slot.discard(entry.connection) }
    }
}
