import Foundation
import IngestCore
import Logging
import PostgresNIO

/// The catalog database: API keys, secrets, cluster settings and placements, members, the shard
/// map and the leader lease.
public struct CatalogStore: Sendable {
    public let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    // MARK: Cluster creation

    /// A placement database of the cluster.
    public struct PlacementRecord: Sendable, Hashable {
        /// Its number: shard `s` lives in placement `s mod count`.
        public var id: Int
        public var name: String
        /// Its URL, or nil for the catalog database itself.
        public var url: String?

        public init(id: Int, name: String, url: String?) {
            self.id = id
            self.name = name
            self.url = url
        }
    }

    /// What a cluster was created with.
    public struct ClusterInfo: Sendable, Hashable {
        public var shardCount: Int
        public var placements: [PlacementRecord]
    }

    /// Creates the cluster (shard count, placements, one shard-map row per shard) unless it
    /// exists, and checks a given shard count and placement list against an existing one: both
    /// are fixed at creation. A nil shard count keeps an existing cluster's, or creates one of
    /// ``ShardFunction/defaultShardCount``. With no placements, the catalog database is the one
    /// placement.
    @discardableResult
    public func createCluster(shardCount requested: Int?, placements: [(name: String, url: String)] = []) async throws -> ClusterInfo {
        let logger = self.logger
        let shardCount: Int
        if let requested { shardCount = requested } else { shardCount = try await self.shardCount() ?? ShardFunction.defaultShardCount }
        try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.creationLock))", logger: logger).consume()
            try await connection.query(
                """
                INSERT INTO cluster_settings (name, value) VALUES ('shard_count', \(String(shardCount))), ('shard_hash', 'xxh64-seed0')
                ON CONFLICT (name) DO NOTHING
                """, logger: logger
            ).consume()
            var existing: [PlacementRecord] = []
            for try await (id, name, url) in try await connection.query(
                "SELECT id, name, url FROM placements ORDER BY id", logger: logger
            ).decode((Int32, String, String?).self) {
                existing.append(PlacementRecord(id: Int(id), name: name, url: url))
            }
            if existing.isEmpty {
                let records = placements.isEmpty
                    ? [PlacementRecord(id: 0, name: "main", url: nil)]
                    : placements.enumerated().map { PlacementRecord(id: $0.offset, name: $0.element.name, url: $0.element.url) }
                for record in records {
                    try await connection.query(
                        "INSERT INTO placements (id, name, url) VALUES (\(Int32(record.id)), \(record.name), \(record.url))",
                        logger: logger
                    ).consume()
                }
                let count = records.count
                try await connection.query(
                    """
                    INSERT INTO shard_map (shard, owner, owner_incarnation, epoch, placement)
                    SELECT s, NULL, NULL, 0, s % \(Int32(count)) FROM generate_series(0, \(Int32(shardCount - 1))) AS s
                    ON CONFLICT (shard) DO NOTHING
                    """, logger: logger
                ).consume()
            } else if !placements.isEmpty && placements.map(\.name) != existing.map(\.name) {
                throw MigrationRunner.Failure(description:
                    "this cluster was created with placements \(existing.map(\.name).joined(separator: ", ")); placements are fixed at creation")
            }
        }
        guard let info = try await clusterInfo() else {
            throw MigrationRunner.Failure(description: "the cluster settings could not be stored")
        }
        guard info.shardCount == shardCount else {
            throw MigrationRunner.Failure(description:
                "this cluster was created with \(info.shardCount) shards; --shard-count \(shardCount) cannot change that")
        }
        return info
    }

    /// The lock key taken while creating the cluster (the bytes "tmcluste").
    static let creationLock: Int64 = 0x746D_636C_7573_7465

    /// The shard count and placements the cluster was created with, or nil before it was created.
    public func clusterInfo() async throws -> ClusterInfo? {
        guard let shardCount = try await shardCount() else { return nil }
        var placements: [PlacementRecord] = []
        let rows = try await database.query("SELECT id, name, url FROM placements ORDER BY id", logger: logger)
        for try await (id, name, url) in rows.decode((Int32, String, String?).self) {
            placements.append(PlacementRecord(id: Int(id), name: name, url: url))
        }
        return placements.isEmpty ? nil : ClusterInfo(shardCount: shardCount, placements: placements)
    }

    // MARK: Secrets

    /// The secret called `name`, created from `make()` on first use (the first writer wins).
    public func secret(named name: String, orCreate make: () -> [UInt8]) async throws -> [UInt8] {
        let candidate = ByteBuffer(bytes: make())
        try await database.execute("INSERT INTO secrets (name, value) VALUES (\(name), \(candidate)) ON CONFLICT (name) DO NOTHING")
        let rows = try await database.query("SELECT value FROM secrets WHERE name = \(name)", logger: logger)
        for try await value in rows.decode(ByteBuffer.self) {
            return Array(buffer: value)
        }
        throw MigrationRunner.Failure(description: "secret \(name) could not be stored")
    }

    // MARK: API keys

    /// A stored API key (its hash, never the key).
    public struct APIKeyRecord: Sendable, Hashable {
        public var id: Int64
        public var role: String
        public var namespace: String
        public var keyHash: [UInt8]
        public var label: String
        public var createdAt: Date
        public var revokedAt: Date?
    }

    /// Stores a key's hash; returns the key's ID.
    public func insertAPIKey(role: String, namespace: String, keyHash: [UInt8], label: String) async throws -> Int64 {
        // The notification reaches every gateway's listener when the statement commits.
        let rows = try await database.query(
            """
            WITH created AS (
                INSERT INTO api_keys (role, namespace, key_hash, label)
                VALUES (\(role), \(namespace), \(ByteBuffer(bytes: keyHash)), \(label)) RETURNING id)
            SELECT id, pg_notify('api_keys', id::text) FROM created
            """, logger: logger)
        for try await (id, _) in rows.decode((Int64, String?).self) { return id }
        throw MigrationRunner.Failure(description: "API key insert returned no id")
    }

    /// Every key, revoked ones included.
    public func apiKeys() async throws -> [APIKeyRecord] {
        let rows = try await database.query(
            "SELECT id, role, namespace, key_hash, label, created_at, revoked_at FROM api_keys ORDER BY id", logger: logger)
        var keys: [APIKeyRecord] = []
        for try await (id, role, namespace, hash, label, created, revoked) in rows.decode(
            (Int64, String, String, ByteBuffer, String, Date, Date?).self)
        {
            keys.append(APIKeyRecord(id: id, role: role, namespace: namespace, keyHash: Array(buffer: hash), label: label,
                                     createdAt: created, revokedAt: revoked))
        }
        return keys
    }

    /// Revokes a key; returns false if there is no such unrevoked key.
    public func revokeAPIKey(id: Int64) async throws -> Bool {
        let rows = try await database.query(
            """
            WITH revoked AS (UPDATE api_keys SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING id)
            SELECT id, pg_notify('api_keys', id::text) FROM revoked
            """, logger: logger)
        for try await _ in rows.decode((Int64, String?).self) { return true }
        return false
    }

    // MARK: Web console sessions

    /// Records a web console session as signed out until `forgetAfter` from now, removes the
    /// records past theirs, and notifies every gateway's key listener (`api_keys`) when it commits.
    public func endWebSession(hash: [UInt8], forgetAfter: Duration) async throws {
        try await database.query(
            """
            WITH pruned AS (DELETE FROM ended_web_sessions WHERE forget_after < now()),
            ended AS (
                INSERT INTO ended_web_sessions (session_hash, forget_after)
                VALUES (\(ByteBuffer(bytes: hash)), now() + \(forgetAfter.milliseconds) * interval '1 millisecond')
                ON CONFLICT (session_hash) DO UPDATE SET forget_after = EXCLUDED.forget_after
                RETURNING 1)
            SELECT pg_notify('api_keys', 'session') FROM ended
            """, logger: logger
        ).consume()
    }

    /// The hashes of the sessions signed out and not yet forgotten.
    public func endedWebSessions() async throws -> Set<[UInt8]> {
        let rows = try await database.query("SELECT session_hash FROM ended_web_sessions WHERE forget_after > now()", logger: logger)
        var hashes: Set<[UInt8]> = []
        for try await hash in rows.decode(ByteBuffer.self) { hashes.insert(Array(buffer: hash)) }
        return hashes
    }

    // MARK: Members

    /// Upserts a member's row with a fresh heartbeat (database time) and, for a gateway, its
    /// totals of forwarded requests and of those refused for load (``ClusterBeat/Sample``); in
    /// the same statement reads back the cluster's beat (0: not raised) and how long ago a leader
    /// last kept it: gateways hand it out, a coordinator that becomes leader resumes from it.
    @discardableResult
    public func heartbeat(
        id: String, role: Membership.Role, address: String, incarnation: Int64, state: Membership.State,
        forwarded: Int64 = 0, refused: Int64 = 0
    ) async throws -> (beatRate: Int, age: Duration) {
        let rows = try await database.query(
            """
            WITH member AS (
                INSERT INTO members (id, role, address, incarnation, state, started_at, last_heartbeat, forwarded, refused_for_load)
                VALUES (\(id), \(role.rawValue), \(address), \(incarnation), \(state.rawValue), now(), now(), \(forwarded), \(refused))
                ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, address = EXCLUDED.address,
                    incarnation = EXCLUDED.incarnation, state = EXCLUDED.state, last_heartbeat = now(),
                    started_at = CASE WHEN members.incarnation = EXCLUDED.incarnation THEN members.started_at ELSE now() END,
                    forwarded = EXCLUDED.forwarded, refused_for_load = EXCLUDED.refused_for_load
                RETURNING 1
            )
            SELECT coalesce(b.beat_rate, 0), coalesce((extract(epoch FROM now() - b.decided_at) * 1000)::int8, 0)
            FROM member LEFT JOIN cluster_beat b ON true
            """, logger: logger)
        for try await (beat, ageMilliseconds) in rows.decode((Int, Int64).self) {
            return (beat, .milliseconds(ageMilliseconds))
        }
        return (0, .zero)
    }

    /// Every gateway's totals as its last heartbeat wrote them (gateways that left are not
    /// listed), and the database's clock.
    public func gatewayLoads() async throws -> (gateways: [ClusterBeat.Sample], now: Timestamp) {
        let rows = try await database.query(
            """
            SELECT id, incarnation, forwarded, refused_for_load, (extract(epoch FROM now()) * 1000)::int8
            FROM members WHERE role = 'gateway' AND state <> 'gone' ORDER BY id
            """, logger: logger)
        var gateways: [ClusterBeat.Sample] = []
        var now: Timestamp?
        for try await (id, incarnation, forwarded, refused, databaseNow) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
            gateways.append(ClusterBeat.Sample(id: id, incarnation: incarnation, forwarded: forwarded, refused: refused))
            now = Timestamp(milliseconds: databaseNow)
        }
        if let now { return (gateways, now) }
        return (gateways, try await databaseNow())
    }

    /// Keeps the cluster's beat (0: not raised), as leader `leader` decided it now; false (and
    /// nothing written) when `leader` no longer holds the lease.
    public func keepClusterBeat(_ beatRate: Int, leader: String, lease: String = "coordinator") async throws -> Bool {
        let rows = try await database.query(
            """
            INSERT INTO cluster_beat (singleton, beat_rate, decided_by, decided_at)
            SELECT true, \(beatRate), \(leader), now()
            WHERE EXISTS (SELECT 1 FROM leader_lease WHERE name = \(lease) AND holder = \(leader) AND expires_at > now())
            ON CONFLICT (singleton) DO UPDATE SET beat_rate = EXCLUDED.beat_rate, decided_by = EXCLUDED.decided_by,
                decided_at = EXCLUDED.decided_at
            RETURNING 1
            """, logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    /// Every member row, with the database's current time to judge heartbeats against.
    public func members() async throws -> (members: [Membership.Member], now: Timestamp) {
        let rows = try await database.query(
            """
            SELECT id, role, address, incarnation, state,
                   (extract(epoch FROM last_heartbeat) * 1000)::int8, (extract(epoch FROM now()) * 1000)::int8
            FROM members ORDER BY id
            """, logger: logger)
        var members: [Membership.Member] = []
        var now = Timestamp(milliseconds: 0)
        for try await (id, role, address, incarnation, state, heartbeat, databaseNow) in rows.decode(
            (String, String, String, Int64, String, Int64, Int64).self)
        {
            now = Timestamp(milliseconds: databaseNow)
            guard let role = Membership.Role(rawValue: role), let state = Membership.State(rawValue: state) else { continue }
            members.append(Membership.Member(id: id, role: role, address: address, incarnation: incarnation,
                                             lastHeartbeat: Timestamp(milliseconds: heartbeat), state: state))
        }
        if members.isEmpty { now = try await databaseNow() }
        return (members, now)
    }

    /// Marks a member gone (a clean shutdown), so its shards move without waiting for the timeout.
    public func leave(id: String, incarnation: Int64) async throws {
        try await database.execute(
            "UPDATE members SET state = 'gone', last_heartbeat = now() WHERE id = \(id) AND incarnation = \(incarnation)")
    }

    /// The database server's clock.
    public func databaseNow() async throws -> Timestamp {
        let rows = try await database.query("SELECT (extract(epoch FROM now()) * 1000)::int8", logger: logger)
        for try await now in rows.decode(Int64.self) { return Timestamp(milliseconds: now) }
        return Timestamp(milliseconds: 0)
    }

    // MARK: Shard map

    /// The shard map's version.
    public func shardMapVersion() async throws -> Int64 {
        let rows = try await database.query("SELECT version FROM shard_map_version", logger: logger)
        for try await version in rows.decode(Int64.self) { return version }
        return 0
    }

    /// The shard map: every shard's owner, the owner's run, the epoch and the placement.
    public func shardMap(shardCount: Int) async throws -> ShardMap {
        try await database.transaction { connection in
            var version: Int64 = 0
            for try await value in try await connection.query("SELECT version FROM shard_map_version", logger: logger)
                .decode(Int64.self)
            {
                version = value
            }
            var map = ShardMap(shardCount: shardCount)
            map.version = version
            let rows = try await connection.query(
                "SELECT shard, owner, owner_incarnation, epoch, placement FROM shard_map WHERE shard < \(Int32(shardCount))",
                logger: logger)
            for try await (shard, owner, incarnation, epoch, placement) in rows.decode((Int32, String?, Int64?, Int64, Int32).self) {
                map.entries[Int(shard)] = ShardMap.Entry(
                    owner: owner, ownerIncarnation: incarnation, epoch: epoch, placement: Int(placement))
            }
            return map
        }
    }

    /// Writes shard changes and bumps the map version in one transaction, only while `leader`
    /// still holds the coordinator lease; returns the new version, or nil if the lease was lost.
    public func publish(_ changes: [ShardChange], leader: String, lease: String = "coordinator") async throws -> Int64? {
        guard !changes.isEmpty else { return try await shardMapVersion() }
        let shards = changes.map { Int32($0.shard) }
        let owners = PostgresNullableArray(changes.map(\.owner))
        let epochs = changes.map(\.epoch)
        let ownerIncarnations = PostgresNullableArray(changes.map(\.ownerIncarnation))
        return try await database.transaction { connection in
            var holds = false
            for try await _ in try await connection.query(
                "SELECT 1 FROM leader_lease WHERE name = \(lease) AND holder = \(leader) AND expires_at > now() FOR UPDATE",
                logger: logger
            ).decode(Int32.self) {
                holds = true
            }
            guard holds else { return nil }
            // The row as it was (`o`, read from the statement's snapshot) gives each move's source.
            var moves: [String] = []
            for try await (before, after, count) in try await connection.query(
                """
                WITH moved AS (
                    UPDATE shard_map m SET owner = u.owner, owner_incarnation = u.incarnation, epoch = u.epoch
                    FROM UNNEST(\(shards)::int4[], \(owners)::text[], \(ownerIncarnations)::int8[], \(epochs)::int8[])
                         AS u(shard, owner, incarnation, epoch), shard_map o
                    WHERE m.shard = u.shard AND o.shard = u.shard
                    RETURNING o.owner AS before, m.owner AS after)
                SELECT before, after, count(*) FROM moved WHERE before IS DISTINCT FROM after
                GROUP BY before, after ORDER BY 3 DESC
                """, logger: logger
            ).decode((String?, String?, Int64).self) {
                let quoted = { (owner: String?) in owner.map(JSONText.quoted) ?? "null" }
                moves.append(#"{"from":\#(quoted(before)),"to":\#(quoted(after)),"shards":\#(count)}"#)
            }
            var version: Int64 = 0
            for try await value in try await connection.query(
                "UPDATE shard_map_version SET version = version + 1 RETURNING version", logger: logger
            ).decode(Int64.self) {
                version = value
            }
            let movesJSON = "[" + moves.joined(separator: ",") + "]"
            try await connection.query(
                """
                WITH recorded AS (INSERT INTO map_changes (version, leader, moves) VALUES (\(version), \(leader), \(movesJSON)::jsonb))
                DELETE FROM map_changes WHERE version <= \(version) - 500
                """, logger: logger
            ).consume()
            try await connection.query("SELECT pg_notify('shard_map', \(String(version)))", logger: logger).consume()
            return version
        }
    }

    /// The newest `limit` published maps: version, time, leader, and the moves as a JSON array
    /// of `{"from", "to", "shards"}`.
    public func mapChanges(limit: Int) async throws -> [(version: Int64, at: Date, leader: String, moves: String)] {
        var changes: [(Int64, Date, String, String)] = []
        for try await row in try await database.query(
            "SELECT version, published_at, leader, moves::text FROM map_changes ORDER BY version DESC LIMIT \(Int64(limit))",
            logger: logger
        ).decode((Int64, Date, String, String).self) {
            changes.append(row)
        }
        return changes
    }

    // MARK: Leader lease

    /// Takes or renews the lease `name` for `holder` for `duration`; true if `holder` holds it now.
    public func acquireLease(name: String = "coordinator", holder: String, duration: Duration) async throws -> Bool {
        let milliseconds = duration.milliseconds
        let rows = try await database.query(
            """
            INSERT INTO leader_lease (name, holder, acquired_at, expires_at)
            VALUES (\(name), \(holder), now(), now() + \(milliseconds) * interval '1 millisecond')
            ON CONFLICT (name) DO UPDATE SET
                holder = EXCLUDED.holder,
                acquired_at = CASE WHEN leader_lease.holder = EXCLUDED.holder THEN leader_lease.acquired_at ELSE now() END,
                expires_at = EXCLUDED.expires_at
            WHERE leader_lease.holder = EXCLUDED.holder OR leader_lease.expires_at < now()
            RETURNING holder
            """, logger: logger)
        for try await current in rows.decode(String.self) { return current == holder }
        return false
    }

    /// Gives the lease up (on shutdown), so a standby takes over at once.
    public func releaseLease(name: String = "coordinator", holder: String) async throws {
        try await database.execute("DELETE FROM leader_lease WHERE name = \(name) AND holder = \(holder)")
    }

    /// The current lease holder, if the lease is live.
    public func leader(name: String = "coordinator") async throws -> String? {
        let rows = try await database.query(
            "SELECT holder FROM leader_lease WHERE name = \(name) AND expires_at > now()", logger: logger)
        for try await holder in rows.decode(String.self) { return holder }
        return nil
    }
}

extension CatalogStore {
    /// The shard count the cluster was created with, if it was.
    public func shardCount() async throws -> Int? {
        let rows = try await database.query("SELECT value FROM cluster_settings WHERE name = 'shard_count'", logger: logger)
        for try await value in rows.decode(String.self) { return Int(value) }
        return nil
    }
}
