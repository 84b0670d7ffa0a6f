import Foundation
import IngestCore
import Logging
import ServiceLifecycle

/// Keeps a member row fresh: upserts it every `interval` with the state `state()` gives, and
/// marks it gone on graceful shutdown. Gateways run one; workers and coordinators heartbeat
/// from their own loops.
///
/// A gateway's heartbeat also carries its load (``Load``): its totals of forwarded requests and
/// of those refused for load go up, and the cluster's beat the coordinator leader decided from
/// every gateway's totals comes back (``CatalogStore/heartbeat(id:role:address:incarnation:state:forwarded:refused:)``).
public struct MemberHeartbeat: Service {
    /// What a gateway's heartbeat sends and hears.
    public struct Load: Sendable {
        /// The gateway's totals since it started: forwarded and answered, and of them refused for load.
        public let totals: @Sendable () -> (forwarded: Int64, refused: Int64)
        /// The cluster's beat read back (0: not raised) and how long ago a leader kept it.
        public let heard: @Sendable (_ beatRate: Int, _ age: Duration) -> Void

        public init(
            totals: @escaping @Sendable () -> (forwarded: Int64, refused: Int64),
            heard: @escaping @Sendable (_ beatRate: Int, _ age: Duration) -> Void
        ) {
            self.totals = totals
            self.heard = heard
        }
    }

    public let id: String
    public let role: Membership.Role
    public let address: String
    public let incarnation: Int64
    let interval: Duration
    let catalog: CatalogStore
    let logger: Logger
    let state: @Sendable () -> Membership.State
    let load: Load?

    public init(
        id: String, role: Membership.Role, address: String, interval: Duration, catalog: CatalogStore, logger: Logger,
        state: @escaping @Sendable () -> Membership.State = { .active }, load: Load? = nil
    ) {
        self.load = load
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
        let totals = load?.totals() ?? (forwarded: 0, refused: 0)
        let heard = try await catalog.heartbeat(
            id: id, role: role, address: address, incarnation: incarnation, state: state(), forwarded: totals.forwarded, refused: totals.refused)
        load?.heard(heard.beatRate, heard.age)
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
