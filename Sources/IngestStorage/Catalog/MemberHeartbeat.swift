import Foundation
import IngestCore
import Logging
import ServiceLifecycle

/// Keeps a member row fresh: upserts it every `interval` with the state `state()` gives, and
/// marks it gone on graceful shutdown. Gateways run one; workers and coordinators heartbeat
/// from their own loops.
public struct MemberHeartbeat: Service {
    public let id: String
    public let role: Membership.Role
    public let address: String
    public let incarnation: Int64
    let interval: Duration
    let catalog: CatalogStore
    let logger: Logger
    let state: @Sendable () -> Membership.State

    public init(
        id: String, role: Membership.Role, address: String, interval: Duration, catalog: CatalogStore, logger: Logger,
        state: @escaping @Sendable () -> Membership.State = { .active }
    ) {
        self.id = id
        self.role = role
        self.address = address
        self.incarnation = Int64(Date().timeIntervalSince1970 * 1_000_000) ^ Int64.random(in: 0..<(1 << 20))
        self.interval = interval
        self.catalog = catalog
        self.logger = logger
        self.state = state
    }

    /// One heartbeat.
    public func beat() async throws {
        try await catalog.heartbeat(id: id, role: role, address: address, incarnation: incarnation, state: state())
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await beat() } catch {
                    logger.warning("heartbeat failed", metadata: [LogKey.member: "\(id)", LogKey.error: "\(redacted(error))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        try? await catalog.leave(id: id, incarnation: incarnation)
    }
}
