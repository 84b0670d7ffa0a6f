import IngestCore
import IngestStorage
import Logging
import ServiceLifecycle
import Synchronization

/// The gateway's cached shard map: node → shard → owning worker at its epoch.
///
/// The map is re-read whenever its version in the catalog moves (polled every
/// `--map-poll-interval`, and on demand). If the catalog is unreachable the gateway keeps
/// routing on the map it has.
public final class ShardRouter: Service {
    public let shardFunction: ShardFunction
    let catalog: CatalogStore
    /// The shard owners this process can reach, by member ID.
    let owners: [String: any ShardOwner]
    let map: Mutex<ShardMap>
    let pollInterval: Duration
    let logger: Logger

    public init(
        shardFunction: ShardFunction, catalog: CatalogStore, owners: [String: any ShardOwner], pollInterval: Duration,
        logger: Logger
    ) {
        self.shardFunction = shardFunction
        self.catalog = catalog
        self.owners = owners
        self.map = Mutex(ShardMap(shardCount: shardFunction.shardCount))
        self.pollInterval = pollInterval
        self.logger = logger
        self.map.withLock { $0.version = -1 }
    }

    /// The owner, shard and epoch for a node, or why there is none (503).
    public func route(_ nodeID: String) -> Result<(owner: any ShardOwner, shard: Int, epoch: Int64), IngestError> {
        let shard = shardFunction.shard(of: nodeID)
        guard let placement = map.withLock({ $0.placement(of: shard) }), let ownerID = placement.owner,
            let owner = owners[ownerID]
        else { return .failure(.unavailable) }
        return .success((owner, shard, placement.epoch))
    }

    /// The map as last read.
    public var current: ShardMap { map.withLock { $0 } }

    /// Re-reads the map if its version moved.
    public func refresh() async throws {
        let version = try await catalog.shardMapVersion()
        guard version != map.withLock({ $0.version }) else { return }
        let (fresh, _) = try await catalog.shardMap(shardCount: shardFunction.shardCount)
        map.withLock { $0 = fresh }
        logger.debug("shard map refreshed", metadata: ["version": "\(fresh.version)"])
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await self.refresh() } catch {
                    self.logger.warning("could not refresh the shard map; routing on the last one",
                                        metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: self.pollInterval)
            }
        }
    }
}
