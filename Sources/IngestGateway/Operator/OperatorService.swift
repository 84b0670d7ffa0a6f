import Foundation
import IngestAuth
import IngestCore
import IngestStorage
import Synchronization

/// What an operator reads and does, for the operator API and the web console alike: every read
/// across placements (a node from its shard's placement; lists merged into one page; counts
/// summed) and every action (a command or scan through the node's owner, API keys in the
/// catalog). Errors are ``IngestError``s: a database failure is `unavailable` (503).
public struct OperatorService: Sendable {
    /// A page of items, each with its ID (the merge order) and JSON object, and the cursor of the
    /// next page when there may be one.
    public struct Page: Sendable {
        public var items: [(id: String, json: String)]
        public var next: String?

        /// The items as one JSON array.
        public var json: String { "[" + items.map(\.json).joined(separator: ",") + "]" }
    }

    public let forwarder: Forwarder
    public let catalog: CatalogStore
    /// The placement databases, by placement number.
    public let placements: [PlacementStore]
    let clock: any IngestClock
    /// The counters of the workers in this process, as JSON objects; workers in other processes
    /// are asked over the internal transport.
    let localWorkerStats: @Sendable () -> [String]
    /// The cluster's beat this process's gateway stretches sensors to, while it does (nil: it does not).
    public let stretchedBeat: @Sendable () -> Int?
    /// The placements' node counts and when they were read (``nodeCounts()``).
    let countsCache = CountsCache()
    /// How long node counts are shared before they are read again.
    public static let countsMaxAge: Duration = .seconds(5)

    public init(
        forwarder: Forwarder, catalog: CatalogStore, placements: [PlacementStore], clock: any IngestClock,
        localWorkerStats: @escaping @Sendable () -> [String], stretchedBeat: @escaping @Sendable () -> Int? = { nil }
    ) {
        precondition(!placements.isEmpty, "a cluster has at least one placement")
        self.forwarder = forwarder
        self.catalog = catalog
        self.placements = placements
        self.clock = clock
        self.localWorkerStats = localWorkerStats
        self.stretchedBeat = stretchedBeat
    }

    var router: ShardRouter { forwarder.router }

    /// The store that holds a node's data.
    public func store(of nodeID: String) -> PlacementStore {
        placements[min(max(router.placement(of: nodeID), 0), placements.count - 1)]
    }

    /// The placements that may hold a scan: its node's, when the ID names one; else all.
    public func stores(ofScan scanID: String) -> [PlacementStore] {
        ScanID.nodeID(of: scanID).map { [store(of: $0)] } ?? placements
    }

    /// The one page merge: each placement's page (in byte order of IDs) merged, cut to `limit`.
    /// More may follow when any placement filled its page or the merge cut some off.
    static func merge(_ pages: [[(id: String, json: String)]], limit: Int) -> Page {
        var merged = pages.flatMap { $0 }
        merged.sort { Array($0.id.utf8).lexicographicallyPrecedes(Array($1.id.utf8)) }
        let more = pages.contains { $0.count == limit } || merged.count > limit
        let page = Array(merged.prefix(limit))
        return Page(items: page, next: more ? page.last?.id : nil)
    }

    /// Runs storage work, turning database failures into `unavailable` and passing IngestErrors through.
    static func storage<T: Sendable>(_ work: () async throws -> T) async throws(IngestError) -> T {
        do {
            return try await work()
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError.unavailable
        }
    }
}

/// The placements' node counts as last read, shared by the copies of an ``OperatorService``.
final class CountsCache: Sendable {
    typealias Counts = [[(kind: String, online: Bool, count: Int)]?]
    private let state = Mutex<(at: ContinuousClock.Instant, counts: Counts)?>(nil)

    /// The counts if read within `maxAge`.
    func counts(maxAge: Duration) -> Counts? {
        state.withLock { cached in cached.flatMap { ContinuousClock.now - $0.at < maxAge ? $0.counts : nil } }
    }

    func store(_ counts: Counts) { state.withLock { $0 = (.now, counts) } }
}
