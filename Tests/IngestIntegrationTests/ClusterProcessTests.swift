import Foundation
import IngestCore
import IngestTestSupport
import IngestTransport
import LoadTestCore
import LoadTestRunner
import Testing

/// The cluster as it runs in production: 2 coordinators, 3 (then 4) workers and 2 gateways as
/// separate `console` processes on loopback, two PostgreSQL servers as placements, a fleet of
/// 1,000 simulated sensors through both gateways, and the failures the issue names, done for
/// real: a join, `kill -9` of a worker, `SIGSTOP` of a worker until its shards move, `kill -9`
/// of the leader coordinator, a rolling restart of every worker, and a placement's server
/// restarted. At the end nothing acknowledged is lost (the fleet's loss check) and every node
/// is in exactly its shard's placement.
@Suite(.timeLimit(.minutes(15)))
struct ClusterProcessTests {
    static let shardCount = 256
    static let sensors = 1000
    static let beat = 15

    @Test func clusterSurvivesJoinsKillsPausesLeaderLossRestartsAndAPlacementOutage() async throws {
        let cluster = try await ClusterHarness(shardCount: Self.shardCount)
        do {
            try await run(cluster)
        } catch {
            Issue.record("cluster test failed: \(error); logs in \(cluster.directory)")
        }
        await cluster.stop()
    }

    func run(_ cluster: ClusterHarness) async throws {
        try await cluster.create()
        try cluster.startCoordinator("coordinator-1", beatRate: Self.beat)
        try cluster.startCoordinator("coordinator-2", beatRate: Self.beat)
        for name in ["worker-1", "worker-2", "worker-3"] { try cluster.startWorker(name, beatRate: Self.beat) }
        try cluster.startGateway("gateway-1")
        try cluster.startGateway("gateway-2")
        let roles = ["worker-1", "worker-2", "worker-3", "gateway-1", "gateway-2", "coordinator-1", "coordinator-2"]
        let ready = await cluster.waitUntil(.seconds(60)) {
            var all = true
            for name in roles where !(await cluster.isReady(name)) { all = false }
            return all
        }
        try #require(ready != nil, "the roles did not become ready")
        let balanced = try await cluster.waitUntil(.seconds(30)) {
            let counts = try await cluster.shardCounts()
            let owned = try await cluster.allShardsOwned()
            return owned && counts.count == 3 && counts.values.max()! - counts.values.min()! <= 1
        }
        try #require(balanced != nil, "the shards were not spread over the 3 workers")

        // A key revoked by `console apikey revoke` stops logging in on every gateway at once.
        let created = try await cluster.apikey(["create", "--role", "sensor", "--label", "revoke-test"])
        let match = try #require(created.firstMatch(of: /Created sensor key (\d+): (\S+)/), "\(created)")
        let login = #"{"api_token":"\#(String(match.output.2))"}"#
        var gateways: [HTTPClientConnection] = []
        for name in ["gateway-1", "gateway-2"] { gateways.append(try await cluster.connect(name)) }
        for gateway in gateways { #expect(try await gateway.postJSON("/deepfence/auth/token", login, token: nil).status == .ok) }
        _ = try await cluster.apikey(["revoke", String(match.output.1)])
        let refused = try await cluster.waitUntil(.seconds(3)) {
            var all = true
            for gateway in gateways where try await gateway.postJSON("/deepfence/auth/token", login, token: nil).status != .unauthorized {
                all = false
            }
            return all
        }
        #expect(refused != nil && refused! < .seconds(1), "the revoked key was refused by both gateways after \(String(describing: refused))")
        for gateway in gateways { await gateway.close() }

        // 3 workers: balanced within one shard.
        let counts = try await cluster.shardCounts()
        #expect(Set(counts.keys) == ["worker-1", "worker-2", "worker-3"])
        #expect(counts.values.max()! - counts.values.min()! <= 1, "\(counts)")

        // The fleet runs through both gateways for the whole test.
        let target = try FleetTarget(url: cluster.gatewayURL("gateway-1"), caPEM: nil, http2: true)
        var configuration = FleetRunner.Configuration(
            target: target, sensorKey: cluster.sensorKey,
            scenario: Scenario(phases: [.init(sensors: Self.sensors, hold: "200s")], mix: ["host": 1], jitter: "10s", seed: 11),
            namePrefix: "cl")
        configuration.moreTargets = [try FleetTarget(url: cluster.gatewayURL("gateway-2"), caPEM: nil, http2: true)]
        configuration.adminKey = cluster.adminKey
        configuration.statusLine = false
        let idle = try await scrapeAll(cluster, roles)
        let fleetStart = ContinuousClock.now
        let fleet = Task { try await FleetRunner(configuration: configuration).run() }
        func fleetSecond() -> Int { Int((ContinuousClock.now - fleetStart).components.seconds) }
        try await Task.sleep(for: .seconds(25))

        // Every role's /metrics moves with the traffic.
        let busy = try await scrapeAll(cluster, roles)
        expectMetricsMoved(from: idle, to: busy)
        expectDashboardMetricsExported(busy)

        // A 4th worker joins: at most 1/4 + 2 % of the shards move.
        let beforeJoin = try await cluster.map()
        try cluster.startWorker("worker-4", beatRate: Self.beat)
        let joined = try await cluster.waitUntil(.seconds(30)) {
            let counts = try await cluster.shardCounts()
            return counts.count == 4 && counts.values.max()! - counts.values.min()! <= 1
        }
        #expect(joined != nil, "worker-4 did not get its share")
        let afterJoin = try await cluster.map()
        let moved = afterJoin.filter { beforeJoin[$0.key]?.owner != $0.value.owner }.count
        #expect(Double(moved) <= Double(Self.shardCount) / 4 + 0.02 * Double(Self.shardCount), "\(moved) shards moved")
        _ = try await cluster.waitUntil(.seconds(10)) { try await cluster.allShardsOwned() }
        let leaderAfterJoin = try #require(try await cluster.leader())
        let movesCounted = try await cluster.scrape(leaderAfterJoin).sum("ingest_coordinator_shard_moves")
            - (busy[leaderAfterJoin]?.sum("ingest_coordinator_shard_moves") ?? 0)
        #expect(movesCounted >= Double(moved), "the leader counted \(movesCounted) shard moves for the join, the map shows \(moved)")
        let joinedWorker = try await cluster.scrape("worker-4")
        #expect(joinedWorker.sum("ingest_worker_shards_claimed") > 0 && joinedWorker.sum("ingest_worker_shards") > 0)

        // kill -9 of a worker: its shards are owned (claimed) again within 15 s.
        cluster.process("worker-2").signal(SIGKILL)
        let reowned = try await cluster.waitUntil(.seconds(30)) { try await cluster.allShardsOwned(excluding: ["worker-2"]) }
        #expect(reowned != nil && reowned! <= .seconds(15), "worker-2's shards were owned again after \(String(describing: reowned))")

        // SIGSTOP of a worker until its shards move, then SIGCONT: it commits nothing under the
        // stale epochs, and it rejoins.
        let paused = try await cluster.map().filter { $0.value.owner == "worker-3" }.mapValues(\.epoch)
        cluster.process("worker-3").signal(SIGSTOP)
        let movedAway = try await cluster.waitUntil(.seconds(40)) { try await cluster.allShardsOwned(excluding: ["worker-3"]) }
        #expect(movedAway != nil, "worker-3's shards did not move while it was stopped")
        let movedAt = try await cluster.catalog.scalar("now()")!
        cluster.process("worker-3").signal(SIGCONT)
        try await Task.sleep(for: .seconds(6))
        let staleA = try await cluster.placementA.count("""
            SELECT count(*) FROM nodes n JOIN (SELECT unnest(ARRAY[\(paused.keys.map(String.init).joined(separator: ","))]::int[]) AS shard,
                unnest(ARRAY[\(paused.values.map(String.init).joined(separator: ","))]::int8[]) AS epoch) p ON n.shard = p.shard
            WHERE n.written_epoch <= p.epoch AND n.last_report_at > '\(movedAt)'::timestamptz
            """)
        let staleB = try await cluster.rowsB("""
            SELECT count(*)::text FROM nodes n JOIN (SELECT unnest(ARRAY[\(paused.keys.map(String.init).joined(separator: ","))]::int[]) AS shard,
                unnest(ARRAY[\(paused.values.map(String.init).joined(separator: ","))]::int8[]) AS epoch) p ON n.shard = p.shard
            WHERE n.written_epoch <= p.epoch AND n.last_report_at > '\(movedAt)'::timestamptz
            """)
        #expect(staleA == 0 && staleB.first?.first == "0", "rows written under a stale epoch: a \(staleA), b \(String(describing: staleB))")
        let rejoined = try await cluster.waitUntil(.seconds(30)) {
            let held = try await cluster.shardCounts()["worker-3"] ?? 0
            let owned = try await cluster.allShardsOwned(excluding: ["worker-2"])
            return held > 0 && owned
        }
        #expect(rejoined != nil, "worker-3 did not rejoin")
        // Its share back, claimed, and the sensors of those shards routed again, so that the window
        // below measures the leader's loss, not the rejoin's moves.
        let settled = try await cluster.waitUntil(.seconds(30)) {
            let counts = try await cluster.shardCounts()
            let owned = try await cluster.allShardsOwned(excluding: ["worker-2"])
            return owned && counts["worker-2"] == nil && counts.values.max()! - counts.values.min()! <= 1
        }
        #expect(settled != nil, "the map did not settle after worker-3 rejoined")
        try await Task.sleep(for: .seconds(3))

        // kill -9 of the leader coordinator: the standby leads within 15 s; ingest goes on.
        let leader = try #require(try await cluster.leader())
        let killedAt = fleetSecond()
        cluster.process(leader).signal(SIGKILL)
        let failedOver = try await cluster.waitUntil(.seconds(30)) {
            let now = try await cluster.leader()
            return now != nil && now != leader
        }
        #expect(failedOver != nil && failedOver! <= .seconds(15), "the standby led after \(String(describing: failedOver))")

        // Placement b's server restarted: the other placement keeps ingesting; b recovers on its
        // own within 10 s after it is back.
        // Waited for, not sampled: a beat just stretched (the gateways stretch it while the pause
        // above refused reports) leaves a gap of up to one earlier beat with no reports at all.
        let downAt = try await cluster.placementA.scalar("now()")!
        await blocking { cluster.secondServer.stop() }
        let aWhileBDown = try await cluster.waitUntil(.seconds(30)) {
            try await cluster.placementA.count("SELECT count(*) FROM nodes WHERE last_report_at > '\(downAt)'::timestamptz") > 0
        }
        #expect(aWhileBDown != nil, "placement a stopped ingesting while b was down")
        _ = try await blocking { try cluster.secondServer.start() }
        let backAt = Date()
        let recovered = await cluster.waitUntil(.seconds(30)) {
            let rows = try? await cluster.rowsB("SELECT count(*)::text FROM nodes WHERE last_report_at > to_timestamp(\(backAt.timeIntervalSince1970))")
            return (rows?.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0) > 0
        }
        #expect(recovered != nil && recovered! <= .seconds(10), "placement b recovered after \(String(describing: recovered))")

        // Rolling restart of every worker (SIGTERM, same IDs): no shard moves to another worker.
        try await Task.sleep(for: .seconds(3))
        let owners = try await cluster.map().mapValues(\.owner)
        let watching = Task {
            var foreign = Set<Int>()
            while !Task.isCancelled {
                if let map = try? await cluster.map() {
                    for (shard, entry) in map where entry.owner != owners[shard] { foreign.insert(shard) }
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
            return foreign
        }
        for name in ["worker-1", "worker-3", "worker-4"] {
            cluster.process(name).signal(SIGTERM)
            let status = await cluster.process(name).wait(timeout: .seconds(40))
            #expect(ChildProcess.exitedCleanly(status), "\(name) did not drain and exit cleanly: \(String(describing: status))")
            try cluster.restart(name)
            let back = await cluster.waitUntil(.seconds(30)) { await cluster.isReady(name) }
            #expect(back != nil, "\(name) did not come back")
        }
        _ = try await cluster.waitUntil(.seconds(15)) { try await cluster.allShardsOwned(excluding: ["worker-2"]) }
        watching.cancel()
        let foreign = await watching.value
        #expect(foreign.isEmpty, "shards moved to other workers during the rolling restart: \(foreign.sorted())")

        let result = try await fleet.value
        // Nothing acknowledged was lost; sensors saw only 200s and 503s (push-back while shards moved).
        let loss = try #require(result.lossCheck)
        #expect(loss.passed && loss.sensorsChecked == Self.sensors, "\(loss.mismatches.prefix(5)) of \(loss.sensorsChecked)")
        #expect(Set(result.statuses.keys).isSubset(of: ["200", "503"]), "\(result.statuses)")
        #expect((result.acknowledged["report"] ?? 0) > Self.sensors * 5)
        // Ingest never stopped while the leader coordinator was gone: answers came in every 2 s
        // of the 15 s after the kill. (The fleet counts an answer in the second it arrives; on 2
        // cores shared by 11 processes, one second without an arrival followed by a burst is a
        // scheduling stall of the fleet or a gateway, not ingest stopping, which would leave
        // seconds in a row empty.)
        let window = result.seconds.filter { $0.second >= killedAt && $0.second < killedAt + 15 }
        let answered = window.map { $0.reportsAcknowledged + $0.pollsAcknowledged }
        #expect(window.count >= 10 && zip(answered, answered.dropFirst()).allSatisfy { $0 + $1 > 0 },
                "reports \(window.map(\.reportsAcknowledged)), polls \(window.map(\.pollsAcknowledged)) a second")

        // Every node is in exactly its shard's placement, written under an epoch the placement fenced.
        let function = ShardFunction(shardCount: Self.shardCount)
        let inA = try await cluster.placementA.rows("SELECT node_id, shard::text FROM nodes WHERE node_id LIKE 'cl-%'")
        let inB = try await cluster.rowsB("SELECT node_id, shard::text FROM nodes WHERE node_id LIKE 'cl-%'")
        #expect(inA.count + inB.count == Self.sensors)
        #expect(Set(inA.map { $0[0]! }).isDisjoint(with: inB.map { $0[0]! }))
        #expect(inA.allSatisfy { function.shard(of: $0[0]!) % 2 == 0 && Int($0[1]!)! == function.shard(of: $0[0]!) })
        #expect(inB.allSatisfy { function.shard(of: $0[0]!) % 2 == 1 })
        #expect(try await cluster.placementA.count(
            "SELECT count(*) FROM nodes n JOIN shard_epochs e USING (shard) WHERE n.written_epoch > e.epoch OR n.written_epoch = 0") == 0)
    }
}

/// Each role's `/metrics`.
func scrapeAll(_ cluster: ClusterHarness, _ roles: [String]) async throws -> [String: PrometheusScrape] {
    var scrapes: [String: PrometheusScrape] = [:]
    for name in roles { scrapes[name] = try await cluster.scrape(name) }
    return scrapes
}

/// What an operator's dashboard shows while a fleet reports: each gateway's requests, responses,
/// bytes and latencies; each worker's reports, rows, batches and pool use; the shard ownership
/// and the one leader.
func expectMetricsMoved(from idle: [String: PrometheusScrape], to busy: [String: PrometheusScrape]) {
    func grew(_ role: String, _ name: String, _ labels: [String: String] = [:]) {
        let before = idle[role]?.sum(name, labels) ?? 0
        let after = busy[role]?.sum(name, labels) ?? 0
        #expect(after > before, "\(role): \(name)\(labels) went from \(before) to \(after)")
    }
    for gateway in ["gateway-1", "gateway-2"] {
        grew(gateway, "ingest_gateway_requests", ["route": "report"])
        grew(gateway, "ingest_gateway_responses", ["route": "report", "status": "2xx"])
        grew(gateway, "ingest_gateway_bytes_in", ["route": "report"])
        grew(gateway, "ingest_gateway_report_duration_count")
        grew(gateway, "ingest_http_responses", ["listener": "public", "status": "2xx"])
        // The sensors' connections, apart from the metrics listener's (one gauge each).
        #expect((busy[gateway]?.sum("ingest_http_connections", ["listener": "public"]) ?? 0) >= 1, "\(gateway) counts no open sensor connection")
        #expect((busy[gateway]?.sum("ingest_gateway_map_version") ?? 0) > 0, "\(gateway) holds no map version")
    }
    var shards = 0.0
    for worker in ["worker-1", "worker-2", "worker-3"] {
        grew(worker, "ingest_worker_reports_committed")
        grew(worker, "ingest_worker_entity_rows")
        grew(worker, "ingest_worker_batches")
        grew(worker, "ingest_worker_batch_size_count")
        grew(worker, "ingest_worker_batch_duration_count")
        grew(worker, "ingest_postgres_operations", ["outcome": "ok"])
        #expect((busy[worker]?.sum("ingest_worker_nodes") ?? 0) > 0, "\(worker) counts no nodes online")
        #expect(busy[worker]?.has("ingest_worker_backlog") == true && busy[worker]?.has("ingest_worker_beat_rate") == true)
        shards += busy[worker]?.sum("ingest_worker_shards") ?? 0
    }
    #expect(shards == Double(ClusterProcessTests.shardCount), "the workers report \(shards) shards owned")
    let leaders = ["coordinator-1", "coordinator-2"].map { busy[$0]?.sum("ingest_coordinator_leader") ?? 0 }
    #expect(leaders.reduce(0, +) == 1, "leader gauges: \(leaders)")
    #expect(["coordinator-1", "coordinator-2"].contains { (busy[$0]?.sum("ingest_coordinator_workers") ?? 0) == 3 })
}

/// Every metric the Grafana dashboard and the Prometheus alerts name is one some role exports.
func expectDashboardMetricsExported(_ scrapes: [String: PrometheusScrape], file: String = #filePath) {
    let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    for path in ["deploy/grafana/console.json", "deploy/kubernetes/base/monitoring.yaml"] {
        guard let text = try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) else {
            Issue.record("cannot read \(path)")
            continue
        }
        let names = Set(text.matches(of: /ingest_[a-z_]+/).map { String($0.output) })
        #expect(names.count > 10, "\(path) names \(names.count) metrics")
        for name in names.sorted() {
            let base = ["_bucket", "_count", "_sum"].reduce(name) { $0.hasSuffix($1) ? String($0.dropLast($1.count)) : $0 }
            #expect(scrapes.values.contains { $0.has(name) || $0.has(base + "_count") }, "\(path) names \(name), which no role exports")
        }
    }
}

/// Runs blocking work (pg_ctl waits for the server) on a thread of its own, off the cooperative
/// pool that the in-process fleet runs on.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
