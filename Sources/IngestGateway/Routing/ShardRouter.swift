import IngestCore
import IngestStorage
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The gateway's cached shard map: node → shard → owning worker at its epoch.
///
/// ## Overview
/// The map is re-read whenever its version in the catalog moves: polled every
/// `--map-poll-interval`, on a `shard_map` notification, and on demand when a worker answers
/// `shard_moved` or `unavailable` (``refreshNow()``, coalesced). Owners are the workers in this
/// process (all-in-one) or, in a cluster, ``RemoteShardOwner``s at the addresses the workers
/// advertise in their member rows. If the catalog is unreachable the gateway keeps routing on
/// the map it has.
public final class ShardRouter: Service {
    /// Where a request goes.
    public struct Route: Sendable {
        public var owner: any ShardOwner
        public var shard: Int
        public var epoch: Int64
        public var mapVersion: Int64
    }

    struct Table {
        var map: ShardMap
        /// Remote owners by member ID.
        var remote: [String: RemoteShardOwner] = [:]
        var readAt: ContinuousClock.Instant?
    }

    public let shardFunction: ShardFunction
    let catalog: CatalogStore
    /// The shard owners in this process, by member ID.
    let local: [String: any ShardOwner]
    /// How to reach workers in other processes; nil in all-in-one.
    let remoteSettings: RemoteShardOwner.Settings?
    let table: Mutex<Table>
    let pollInterval: Duration
    let logger: Logger
    let pendingRefresh = Mutex<Task<Void, Never>?>(nil)
    let mapVersionGauge = Gauge(label: "ingest.gateway.map.version")
    let refreshes = Counter(label: "ingest.gateway.map.refreshes")

    public init(
        shardFunction: ShardFunction, catalog: CatalogStore, local: [String: any ShardOwner],
        remote: RemoteShardOwner.Settings?, pollInterval: Duration, logger: Logger
    ) {
        self.shardFunction = shardFunction
        self.catalog = catalog
        self.local = local
        self.remoteSettings = remote
        var empty = ShardMap(shardCount: shardFunction.shardCount)
        empty.version = -1
        self.table = Mutex(Table(map: empty))
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// The owner, shard and epoch for a node, or why there is none (503).
    public func route(_ nodeID: String) -> Result<Route, IngestError> {
        let shard = shardFunction.shard(of: nodeID)
        return table.withLock { table in
            guard let entry = table.map.entry(of: shard), let ownerID = entry.owner,
                let owner = local[ownerID] ?? table.remote[ownerID]
            else { return .failure(.unavailable) }
            return .success(Route(owner: owner, shard: shard, epoch: entry.epoch, mapVersion: table.map.version))
        }
    }

    /// The placement a node's data lives in.
    public func placement(of nodeID: String) -> Int {
        table.withLock { $0.map.entry(of: shardFunction.shard(of: nodeID))?.placement ?? 0 }
    }

    /// The map as last read.
    public var current: ShardMap { table.withLock { $0.map } }

    /// Whether a map has been read (`/readyz` of a gateway).
    public var hasMap: Bool { table.withLock { $0.map.version >= 0 } }

    /// The remote owners known now.
    public var remoteOwners: [RemoteShardOwner] { table.withLock { Array($0.remote.values) } }

    /// Re-reads the map (and the workers' addresses) if its version moved, or always with `force`.
    public func refresh(force: Bool = false) async throws {
        let version = try await catalog.shardMapVersion()
        guard force || version != table.withLock({ $0.map.version }) else { return }
        let fresh = try await catalog.shardMap(shardCount: shardFunction.shardCount)
        var addresses: [String: String] = [:]
        if remoteSettings != nil {
            for member in try await catalog.members().members where member.role == .worker && !member.address.isEmpty {
                addresses[member.id] = member.address
            }
        }
        let stale: [RemoteShardOwner] = table.withLock { table in
            var stale: [RemoteShardOwner] = []
            if let settings = remoteSettings {
                var remote: [String: RemoteShardOwner] = [:]
                for (id, address) in addresses where local[id] == nil {
                    if let existing = table.remote[id], existing.address == address {
                        remote[id] = existing
                    } else if let owner = RemoteShardOwner(memberID: id, address: address, settings: settings) {
                        remote[id] = owner
                    }
                }
                stale = table.remote.values.filter { remote[$0.memberID] !== $0 }
                table.remote = remote
            }
            table.map = fresh
            table.readAt = .now
            return stale
        }
        for owner in stale { await owner.close() }
        refreshes.increment()
        mapVersionGauge.record(fresh.version)
        logger.debug("shard map refreshed", metadata: [LogKey.version: "\(fresh.version)"])
    }

    /// Re-reads the map now (a worker said it moved), sharing one read among concurrent
    /// callers and at most one read per 100 ms.
    public func refreshNow() async {
        let task: Task<Void, Never> = pendingRefresh.withLock { pending in
            if let pending { return pending }
            let task = Task {
                if let readAt = self.table.withLock({ $0.readAt }), ContinuousClock.now - readAt < .milliseconds(100) {
                    try? await Task.sleep(for: .milliseconds(100) - (ContinuousClock.now - readAt))
                }
                do { try await self.refresh(force: true) } catch {
                    self.logger.warning("could not refresh the shard map; routing on the last one",
                                        metadata: [LogKey.error: "\(redacted(error))"])
                }
                self.pendingRefresh.withLock { $0 = nil }
            }
            pending = task
            return task
        }
        await task.value
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await self.refresh() } catch {
                    self.logger.warning("could not refresh the shard map; routing on the last one",
                                        metadata: [LogKey.error: "\(redacted(error))"])
                }
                try? await Task.sleep(for: self.pollInterval)
            }
        }
        for owner in remoteOwners { await owner.close() }
    }
}
