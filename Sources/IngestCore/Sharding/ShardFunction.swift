/// The node → shard mapping: `shard = XXH64(UTF-8 bytes of the node ID, seed 0) mod shardCount`.
///
/// `shardCount` is fixed when the cluster is created (default 4096) and must never change on a
/// live cluster: every stored node, epoch and placement is keyed by it. The function is written
/// down in `docs/architecture.md` so sensors, tools and other languages can compute it.
public struct ShardFunction: Sendable, Hashable {
    /// The default number of shards of a new cluster.
    public static let defaultShardCount = 4096

    /// How many shards the cluster has.
    public let shardCount: Int

    /// A shard function over `shardCount` shards (at least 1).
    public init(shardCount: Int = ShardFunction.defaultShardCount) {
        precondition(shardCount > 0, "a cluster needs at least one shard")
        self.shardCount = shardCount
    }

    /// The shard that owns `nodeID`.
    public func shard(of nodeID: String) -> Int {
        Int(XXH64.hash(nodeID) % UInt64(shardCount))
    }
}
