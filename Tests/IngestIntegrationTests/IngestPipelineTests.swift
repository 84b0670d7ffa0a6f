import Foundation
import IngestCompression
import IngestCore
import Logging
import PostgresNIO
import IngestStorage
import IngestTestSupport
import IngestTransport
import Testing

/// The whole report path over real TLS + HTTP/2 into a real PostgreSQL.
@Suite(.timeLimit(.minutes(3)))
struct IngestPipelineTests {
    @Test(arguments: HTTPServer.HTTP2Mode.allCases)
    func sampleReportIsStoredWhole(mode: HTTPServer.HTTP2Mode) async throws {
        try await expectStoredWhole(SampleReport.text(hostname: "host-a"), node: "host-a", mode: mode)
    }

    @Test(.needsUpstreamArtefacts, arguments: HTTPServer.HTTP2Mode.allCases)
    func realFixtureIsStoredWhole(mode: HTTPServer.HTTP2Mode) async throws {
        try await expectStoredWhole(SharedFixtures.agentReportText(hostname: "host-b"), node: "host-b", mode: mode)
    }

    /// Posts the host report `text` of `node` and checks that every entity the parser finds in it
    /// is stored, logged as the node appearing, and shown by the operator API.
    func expectStoredWhole(_ text: String, node: String, mode: HTTPServer.HTTP2Mode) async throws {
        let parsed = try ReportParser().parse(Array(text.utf8))
        let counts = parsed.counts()
        let process = try SampleReport.firstProcess(in: text)
        #expect(parsed.nodeID == node && (counts[.process] ?? 0) > 100)
        let console = try await TestConsole.start("fixture") { $0.listener.http2Mode = mode }
        do {
            let connection = try await console.connect()
            let tokens = try await console.login(console.sensorKey, on: connection)
            let response = try await connection.postReport(Gzip.compress(Array(text.utf8)), token: tokens.access)
            #expect(response.status == .ok)
            #expect(response.text == #"{"beatrate":30}"#)
            #expect(connection.isHTTP2)

            let db = console.database
            for kind in [EntityKind.host, .process, .container, .containerImage, .endpoint, .connection, .cloudProvider] {
                #expect(try await db.count("SELECT count(*) FROM \(kind.tableName) WHERE node_id = '\(node)'") == counts[kind] ?? 0,
                        "\(kind.tableName)")
            }
            #expect(try await db.scalar("SELECT last_report_id FROM nodes WHERE node_id = '\(node)'") == parsed.reportID)
            #expect(try await db.scalar("SELECT kind FROM nodes WHERE node_id = '\(node)'") == "host")
            #expect(try await db.scalar("SELECT pid FROM processes WHERE entity_id = '\(process.id)'") == String(process.pid))
            // A node's first report is logged as the node appearing, not as each of its entities.
            #expect(try await db.rows("SELECT kind, entity_id, change FROM entity_changes WHERE node_id = '\(node)'")
                == [["node", node, "appeared"]])
            #expect(try await db.count("SELECT count(*) FROM metric_samples WHERE node_id = '\(node)'") == 1)

            // The operator API shows the same.
            let admin = try await console.login(console.adminKey, on: connection)
            let detail = try json(try await connection.get("/api/v1/nodes/\(node)", token: admin.access))
            // The metric sample, stored gzipped, read back as the report carried it.
            let latest = try #require(detail["latest_metrics"] as? [String: Any])
            #expect(latest["sampled_at"] is String)
            let sampled = try #require((latest["metrics"] as? [String: [String: [String: Any]]])?["process"]?[process.id])
            #expect(sampled["memory_usage"] as? Int == Int(process.memoryUsage) && sampled["open_files_count"] as? Int == Int(process.openFiles))
            let shown = try #require(detail["counts"] as? [String: Int])
            #expect(shown["hosts"] == 1 && shown["processes"] == counts[.process] && shown["containers"] == counts[.container]
                && shown["container_images"] == counts[.containerImage])
            let processes = try #require(detail["processes"] as? [[String: Any]])
            #expect(processes.contains { $0["id"] as? String == process.id && $0["pid"] as? Int == process.pid })
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func unchangedResendRewritesNoEntityRow() async throws {
        let console = try await TestConsole.start("unchanged")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let text = SampleReport.text(hostname: "host-u")
            let first = try await connection.postReport(Gzip.compress(Array(text.utf8)), token: token)
            #expect(first.status == .ok, "\(first.text)")
            let db = console.database
            let before = try await rowVersions(db, node: "host-u")
            let changesBefore = try await db.count("SELECT count(*) FROM entity_changes WHERE node_id = 'host-u'")
            let rowsBefore = console.stack.worker.stats.entityRowsWritten

            // Three new beats: new report IDs, timestamps and metrics; the same entities.
            for beat in 1...3 {
                let response = try await connection.postReport(Gzip.compress(Array(SampleReport.text(hostname: "host-u", beat: beat).utf8)), token: token)
                #expect(response.status == .ok)
            }
            #expect(before.count == (try ReportParser().parse(Array(text.utf8)).entities.count))
            #expect(try await rowVersions(db, node: "host-u") == before)
            #expect(try await db.count("SELECT count(*) FROM entity_changes WHERE node_id = 'host-u'") == changesBefore)
            #expect(console.stack.worker.stats.entityRowsWritten == rowsBefore)
            // The node row does record every acknowledged report.
            #expect(try await db.scalar("SELECT last_report_id FROM nodes WHERE node_id = 'host-u'") == "beat-3")
            // Metrics were not rewritten either: the sample interval (60 s) has not passed.
            #expect(try await db.count("SELECT count(*) FROM metric_samples WHERE node_id = 'host-u'") == 1)

            // After the sample interval, the next beat writes one sample row and still no entity row.
            console.clock.advance(by: .seconds(61))
            #expect(try await connection.postReport(Gzip.compress(Array(SampleReport.text(hostname: "host-u", beat: 4).utf8)), token: token).status == .ok)
            #expect(try await db.count("SELECT count(*) FROM metric_samples WHERE node_id = 'host-u'") == 2)
            #expect(try await rowVersions(db, node: "host-u") == before)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func sameReportIDIsAcknowledgedWithoutAWrite() async throws {
        let console = try await TestConsole.start("resend")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let report = gzippedReport(hostname: "host-r")
            #expect(try await connection.postReport(report, token: token).status == .ok)
            let seen = try await console.database.scalar("SELECT xmin::text FROM nodes WHERE node_id = 'host-r'")
            let committed = console.stack.worker.stats.reportsCommitted
            let resend = try await connection.postReport(report, token: token)
            #expect(resend.status == .ok && resend.text == #"{"beatrate":30}"#)
            #expect(try await console.database.scalar("SELECT xmin::text FROM nodes WHERE node_id = 'host-r'") == seen)
            #expect(console.stack.worker.stats.reportsCommitted == committed)
            #expect(console.stack.worker.stats.duplicatesAcknowledged >= 1)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func oneChangedProcessIsExactlyOneChange() async throws {
        let console = try await TestConsole.start("onechange")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let text = SampleReport.text(hostname: "host-c")
            #expect(try await connection.postReport(Gzip.compress(Array(text.utf8)), token: token).status == .ok)
            let db = console.database
            let before = try await rowVersions(db, node: "host-c")
            let changesBefore = try await db.count("SELECT count(*) FROM entity_changes WHERE node_id = 'host-c'")

            // The next beat with one process's command line changed.
            let beat = SampleReport.text(hostname: "host-c", beat: 1)
            let process = try SampleReport.firstProcess(in: beat)
            let cmdline = try #require(process.body.firstMatch(of: /"cmdline":"([^"]*)"/)?.output.1)
            let edited = beat.replacingOccurrences(
                of: process.body, with: process.body.replacingOccurrences(of: "\"cmdline\":\"\(cmdline)\"", with: "\"cmdline\":\"\(cmdline) --verbose\""))
            #expect(edited != beat)
            #expect(try await connection.postReport(Gzip.compress(Array(edited.utf8)), token: token).status == .ok)

            let after = try await rowVersions(db, node: "host-c")
            let differing = zip(before, after).filter { $0 != $1 }
            #expect(after.count == before.count)
            #expect(differing.count == 1)
            #expect(differing.first?.0.hasPrefix("processes ") == true)
            let changes = try await db.rows(
                "SELECT kind, entity_id, change FROM entity_changes WHERE node_id = 'host-c' AND change <> 'appeared'")
            #expect(try await db.count("SELECT count(*) FROM entity_changes WHERE node_id = 'host-c'") == changesBefore + 1)
            #expect(changes == [["process", process.id, "changed"]])
            #expect(try await db.scalar("SELECT cmdline FROM processes WHERE entity_id = '\(process.id)'") == "\(cmdline) --verbose")
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    /// Rows a build before 69883a1 wrote carry the chained digest. After the upgrade, the
    /// node's next report rewrites each such row once with the new digest and logs nothing (its
    /// content did not change); the report after writes no entity row. A process whose
    /// `cpu_usage` came or went in that one report is logged `changed` once: its stored digest
    /// was computed with the member where it was, which the new report cannot show.
    @Test func rowsWithTheDigestOfTheBuildBeforeAreRewrittenOnceAndNotLogged() async throws {
        let node = "host-o"
        let first = try await TestConsole.start("rehash")
        let database = first.database
        let text = SampleReport.text(hostname: node)
        var rewritten = 0
        do {
            let connection = try await first.connect()
            let token = try await first.login(first.sensorKey, on: connection).access
            #expect(try await connection.postReport(Gzip.compress(Array(text.utf8)), token: token).status == .ok)
            await connection.close()
            // What the build before would have stored: the same rows with its digests.
            let report = try ReportParser().parse(Array(text.utf8))
            for entity in report.entities where entity.kind != .connection {
                let previous = try #require(ReportParser.previousDigest(of: entity, in: report.bytes))
                guard previous != entity.digest else { continue }
                rewritten += 1
                let updated = try await database.rows(
                    "UPDATE \(entity.kind.tableName) SET digest = \(Int64(bitPattern: previous)) WHERE node_id = '\(node)' AND entity_key = \(Int64(bitPattern: entity.key)) RETURNING 1")
                #expect(updated.count == 1)
            }
        } catch {
            await first.stop()
            throw error
        }
        await first.stop(dropDatabase: false)
        #expect(rewritten > 100)

        // The upgraded console loads the stored snapshot on the node's next report.
        let second = try await TestConsole.start("rehash", database: database)
        do {
            let connection = try await second.connect()
            let token = try await second.login(second.sensorKey, on: connection).access
            let before = try await rowVersions(database, node: node)
            let changesBefore = try await database.count("SELECT count(*) FROM entity_changes WHERE node_id = '\(node)'")
            let beat = SampleReport.text(hostname: node, beat: 1)
            #expect(try await connection.postReport(Gzip.compress(Array(beat.utf8)), token: token).status == .ok)
            let after = try await rowVersions(database, node: node)
            #expect(zip(before, after).filter { $0 != $1 }.count == rewritten)
            func busy(_ report: ParsedReport) -> Set<String> {
                Set(report.entities.filter { $0.kind == .process && !$0.metrics.cpuUsage.isEmpty }.map { report.id(of: $0) })
            }
            let toggled = busy(try ReportParser().parse(Array(text.utf8))).symmetricDifference(busy(try ReportParser().parse(Array(beat.utf8))))
            let logged = try await database.rows("SELECT entity_id FROM entity_changes WHERE node_id = '\(node)' AND change = 'changed'")
            #expect(Set(logged.map { $0[0] ?? "" }) == toggled)
            #expect(try await database.count("SELECT count(*) FROM entity_changes WHERE node_id = '\(node)'") == changesBefore + toggled.count)
            // Every row now carries the new digest: the next beat writes no entity row.
            let parsed = try ReportParser().parse(Array(beat.utf8))
            for entity in parsed.entities where entity.kind != .connection {
                #expect(try await database.scalar(
                    "SELECT digest::text FROM \(entity.kind.tableName) WHERE node_id = '\(node)' AND entity_key = \(Int64(bitPattern: entity.key))")
                    == String(Int64(bitPattern: entity.digest)))
            }
            #expect(try await connection.postReport(Gzip.compress(Array(SampleReport.text(hostname: node, beat: 2).utf8)), token: token).status == .ok)
            #expect(try await rowVersions(database, node: node) == after)
            await connection.close()
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }

    @Test func vanishedEntitiesAreDeletedAndLogged() async throws {
        let console = try await TestConsole.start("vanish")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let tiny = #"{"ID":"r1","Host":{"h-v":{"metadata":{"node_id":"h-v"}}},"Process":{"h-v;1":{"metadata":{"pid":1}},"h-v;2":{"metadata":{"pid":2}}}}"#
            let smaller = #"{"ID":"r2","Host":{"h-v":{"metadata":{"node_id":"h-v"}}},"Process":{"h-v;1":{"metadata":{"pid":1}}}}"#
            #expect(try await connection.postReport(Gzip.compress(Array(tiny.utf8)), token: token).status == .ok)
            #expect(try await connection.postReport(Gzip.compress(Array(smaller.utf8)), token: token).status == .ok)
            #expect(try await console.database.count("SELECT count(*) FROM processes WHERE node_id = 'h-v'") == 1)
            #expect(try await console.database.rows("SELECT entity_id, change FROM entity_changes WHERE node_id = 'h-v' AND change = 'vanished'")
                == [["h-v;2", "vanished"]])
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    @Test func writeUnderAStaleEpochIsRejectedAndCommitsNothing() async throws {
        let console = try await TestConsole.start("fence")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let text = SampleReport.text(hostname: "host-f")
            #expect(try await connection.postReport(Gzip.compress(Array(text.utf8)), token: token).status == .ok)
            let db = console.database
            let before = try await rowVersions(db, node: "host-f")
            let nodeRow = try await db.rows("SELECT xmin::text, last_report_id FROM nodes WHERE node_id = 'host-f'")

            // Another owner takes the shard: it raises the epoch in the placement.
            let shard = ShardFunction(shardCount: 64).shard(of: "host-f")
            let epoch = try #require(console.stack.worker.ownedShards[shard])
            try await console.stack.placement.setEpoch(shard: shard, epoch: epoch + 1)

            let beat = SampleReport.text(hostname: "host-f", beat: 1)
            let changed = beat.replacingOccurrences(of: #""os":"linux""#, with: #""os":"plan9""#)
            #expect(changed != beat)
            let response = try await connection.postReport(Gzip.compress(Array(changed.utf8)), token: token)
            // The worker finds the shard fenced and lets it go; the gateway re-reads the map and
            // retries until its forward deadline, then answers 503.
            #expect(response.status == .serviceUnavailable)
            #expect(["shard_moved", "unavailable"].contains(try json(response)["code"] as? String))
            #expect(try await rowVersions(db, node: "host-f") == before)
            #expect(try await db.rows("SELECT xmin::text, last_report_id FROM nodes WHERE node_id = 'host-f'") == nodeRow)
            #expect(try await db.scalar("SELECT os FROM hosts WHERE node_id = 'host-f'") == "linux")
            // The worker let the shard go.
            #expect(console.stack.worker.ownedShards[shard] == nil)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }

    /// Runs `body` on the placement store of a database of its own (warnings logged only), and
    /// drops the database after it, whatever the outcome.
    func withPlacement(_ label: String, _ body: (PlacementStore, TestDatabase) async throws -> Void) async throws {
        let database = try await TestDatabase.make(label)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        do {
            try await body(PlacementStore(database: database.database, logger: logger), database)
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    @Test func fencedBatchWriteCommitsNothing() async throws {
        try await withPlacement("fencedwrite") { placement, database in
            _ = try await placement.claim([(shard: 5, epoch: 3)])
            var batch = BatchWrite(at: Date())
            batch.addNode("n", shard: 5, epoch: 3, kind: "host", reportID: "r", beatRate: 30, version: 0)
            batch.fences = [5: 2]
            #expect(try await placement.write(batch) == .stale(shards: [5]))
            #expect(try await database.count("SELECT count(*) FROM nodes") == 0)
            batch.fences = [5: 3]
            try await placement.ensurePartitions(for: [batch.at])
            #expect(try await placement.write(batch) == .committed)
            #expect(try await database.count("SELECT count(*) FROM nodes") == 1)
        }
    }

    /// ANALYZE builds no statistics on the stored bodies (no query filters on them); the
    /// columns queries do filter on keep theirs (the default: -1, or NULL from PostgreSQL 17).
    @Test func entityBodiesCarryNoPlannerStatistics() async throws {
        try await withPlacement("bodystatistics") { _, database in
            for kind in EntityKind.allCases where kind != .connection {
                func target(_ column: String) async throws -> String? {
                    try await database.scalar(
                        "SELECT coalesce(attstattarget, -1) FROM pg_attribute WHERE attrelid = '\(kind.tableName)'::regclass AND attname = '\(column)'")
                }
                let (body, nodeID) = (try await target("body"), try await target("node_id"))
                #expect(body == "0" && nodeID == "-1", "\(kind.tableName): body \(body ?? "-"), node_id \(nodeID ?? "-")")
            }
        }
    }

    /// The batch write names entity kinds by number: each kind lands in its own table, and its
    /// deletions are logged under its own name.
    @Test func everyEntityKindIsWrittenToItsTableAndDeletedFromIt() async throws {
        try await withPlacement("everykind") { placement, database in
            _ = try await placement.claim([(shard: 9, epoch: 1), (shard: 10, epoch: 4)])
            var batch = BatchWrite(at: Date())
            try await placement.ensurePartitions(for: [batch.at])
            batch.addNode("n9", shard: 9, epoch: 1, kind: "host", reportID: "r1", beatRate: 30, version: 0)
            batch.addNode("n10", shard: 10, epoch: 4, kind: "kubernetes_cluster", reportID: nil, beatRate: 30, version: 0)
            for kind in EntityKind.allCases {
                var rows = BatchWrite.EntityRows()
                for node in ["n9", "n10"] {
                    rows.append(nodeID: node, key: Int64(kind.rawValue) * 10, id: "\(kind.name)-\(node)", digest: Int64(kind.rawValue),
                                body: kind == .connection ? "to-\(node)" : #"{"metadata":{"node_name":"\#(kind.name)"}}"#)
                }
                batch.upserts[kind] = rows
            }
            batch.changes.nodeIDs = ["n9"]
            batch.changes.kinds = ["host"]
            batch.changes.entityIDs = ["host-n9"]
            batch.changes.changes = ["appeared"]
            batch.sampleNodeIDs = ["n9"]
            batch.sampleMetrics = [Gzip.compress(Array(#"{"cpu":1}"#.utf8))]
            #expect(try await placement.write(batch) == .committed)
            // The sample is stored as the worker gzipped it (migration 0010).
            #expect(try await database.rows("SELECT (metrics IS NULL)::text, (length(metrics_gzip) = \(batch.sampleMetrics[0].count))::text FROM metric_samples")
                == [["true", "true"]])
            for kind in EntityKind.allCases {
                let id = kind == .connection ? "source" : "entity_id"
                #expect(try await database.rows(
                    "SELECT node_id, entity_key::text, \(id) FROM \(kind.tableName) ORDER BY node_id")
                    == [["n10", "\(kind.rawValue * 10)", "\(kind.name)-n10"], ["n9", "\(kind.rawValue * 10)", "\(kind.name)-n9"]])
            }
            #expect(try await database.rows("SELECT kind, entity_id, change FROM entity_changes") == [["host", "host-n9", "appeared"]])
            #expect(try await database.count("SELECT count(*) FROM metric_samples WHERE node_id = 'n9'") == 1)

            // The next batch deletes n9's entities of every kind: each is logged under its kind.
            var next = BatchWrite(at: batch.at)
            next.addNode("n9", shard: 9, epoch: 1, kind: "host", reportID: "r2", beatRate: 30, version: 1)
            for kind in EntityKind.allCases {
                var keys = BatchWrite.KeyRows()
                keys.nodeIDs = ["n9"]
                keys.keys = [Int64(kind.rawValue) * 10]
                next.deletions[kind] = keys
            }
            #expect(try await placement.write(next) == .committed)
            for kind in EntityKind.allCases {
                #expect(try await database.count("SELECT count(*) FROM \(kind.tableName) WHERE node_id = 'n9'") == 0)
                #expect(try await database.count("SELECT count(*) FROM \(kind.tableName) WHERE node_id = 'n10'") == 1)
            }
            let vanished = try await database.rows("SELECT kind, entity_id FROM entity_changes WHERE change = 'vanished' ORDER BY kind")
            #expect(vanished == EntityKind.allCases.sorted { $0.name < $1.name }.map { kind -> [String?] in
                [kind.name, kind == .connection ? "connection-n9 -> to-n9" : "\(kind.name)-n9"]
            })
            #expect(try await database.rows("SELECT last_report_id, state_version::text FROM nodes WHERE node_id = 'n9'") == [["r2", "2"]])
        }
    }

    /// A worker of the version before migration 0010 calls the form whose samples are JSON text
    /// (jsonb): during a rolling upgrade it keeps writing, and the node detail reads its sample.
    @Test func theFormBeforeGzippedSamplesStillWrites() async throws {
        try await withPlacement("oldform") { placement, database in
            _ = try await placement.claim([(shard: 3, epoch: 1)])
            try await placement.ensurePartitions(for: [Date()])
            let none = "array_fill(1, ARRAY[13])::int4[]"
            _ = try await database.rows("""
                SELECT write_report_batch(now(), ARRAY[3]::int4[], ARRAY[1]::int8[],
                    ARRAY['old-1']::text[], ARRAY[3]::int4[], ARRAY['host']::text[], ARRAY['r1']::text[], ARRAY[30]::int4[],
                    ARRAY[1]::int8[], ARRAY[0]::int8[], \(none), '{}'::text[], '{}'::int8[],
                    \(none), '{}'::text[], '{}'::int8[], '{}'::text[], '{}'::int8[], '{}'::text[],
                    '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[],
                    ARRAY['old-1']::text[], ARRAY['{"host":{"old-1":{"cpu_usage":2.5}}}']::text[])::text
                """)
            #expect(try await database.rows("SELECT metrics->'host'->'old-1'->>'cpu_usage', (metrics_gzip IS NULL)::text FROM metric_samples")
                == [["2.5", "true"]])
            let detail = try #require(try await placement.nodeDetail("old-1"))
            #expect(detail.contains(#""metrics":{"host": {"old-1": {"cpu_usage": 2.5}}}"#))
        }
    }

    @Test func writeFromAnOutdatedVersionCommitsNothing() async throws {
        try await withPlacement("outdated") { placement, database in
            _ = try await placement.claim([(shard: 5, epoch: 3)])
            var batch = BatchWrite(at: Date())
            try await placement.ensurePartitions(for: [batch.at])
            batch.addNode("n", shard: 5, epoch: 3, kind: "host", reportID: "r1", beatRate: 30, version: 0)
            #expect(try await placement.write(batch) == .committed)
            #expect(try await database.scalar("SELECT state_version FROM nodes WHERE node_id = 'n'") == "1")
            // A second writer that read the node before that write: nothing of its batch lands.
            batch.nodeReportIDs = ["r2"]
            batch.upserts[.process] = BatchWrite.EntityRows()
            batch.upserts[.process]!.append(nodeID: "n", key: 7, id: "n;7", digest: 1, body: #"{"pid":7}"#)
            let outdated = await #expect(throws: PlacementStore.OutdatedNodes.self) { try await placement.write(batch) }
            #expect(outdated?.nodeIDs == ["n"])
            #expect(try await database.rows("SELECT last_report_id, state_version::text FROM nodes WHERE node_id = 'n'") == [["r1", "1"]])
            #expect(try await database.count("SELECT count(*) FROM processes") == 0)
            batch.nodeVersions = [1]
            #expect(try await placement.write(batch) == .committed)
            #expect(try await database.rows("SELECT last_report_id, state_version::text FROM nodes WHERE node_id = 'n'") == [["r2", "2"]])
            #expect(try await database.count("SELECT count(*) FROM processes") == 1)
        }
    }

    /// A write answered in doubt (its commit timed out) that commits after the node's next report
    /// was diffed must not leave entities that next report no longer has (seen in a fleet run
    /// under load: nodes stored under their last acknowledged report ID with processes it had
    /// dropped).
    @Test func writeInDoubtThatCommitsLateLeavesNoStaleEntities() async throws {
        let console = try await TestConsole.start("indoubt") { $0.worker.commitTimeout = .seconds(2) }
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            func report(_ id: String, pids: [Int]) -> [UInt8] {
                let processes = pids.map { #""h-d;\#($0)":{"metadata":{"pid":\#($0)}}"# }.joined(separator: ",")
                return Gzip.compress(Array(#"{"ID":"\#(id)","Host":{"h-d":{"metadata":{"node_id":"h-d"}}},"Process":{\#(processes)}}"#.utf8))
            }
            // Resent until acknowledged: beside other suites a first write can miss the short commit timeout.
            var first = try await connection.postReport(report("r1", pids: [1]), token: token)
            for _ in 0..<5 where first.status != .ok { first = try await connection.postReport(report("r1", pids: [1]), token: token) }
            try #require(first.status == .ok)

            // Hold the processes table: r2's write takes the node's row, then waits on it. The lock
            // is held on a connection of its own, outside the console's pool and its settings.
            let db = console.database
            let blocker = try await PostgresConnection.connect(
                configuration: .init(host: db.url.host, port: db.url.port, username: db.url.username, password: db.url.password,
                                     database: db.url.database, tls: .disable),
                id: 1, logger: Logger(label: "blocker"))
            defer { Task { try? await blocker.close() } }
            try await blocker.query("BEGIN", logger: Logger(label: "blocker")).consume()
            try await blocker.query("LOCK TABLE processes IN EXCLUSIVE MODE", logger: Logger(label: "blocker")).consume()
            // r2 adds process 2 and times out in doubt; r3 drops it again, is diffed against the
            // state without r2, and waits for r2's row lock until it times out too.
            #expect(try await connection.postReport(report("r2", pids: [1, 2]), token: token).status == .serviceUnavailable)
            #expect(try await connection.postReport(report("r3", pids: [1]), token: token).status == .serviceUnavailable)
            try await blocker.query("ROLLBACK", logger: Logger(label: "blocker")).consume()
            // r2 commits after all; r3 must not commit on top of it.
            let deadline = ContinuousClock.now + .seconds(20)
            while try await db.count(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()") > 0,
                ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await db.rows("SELECT last_report_id, state_version::text FROM nodes WHERE node_id = 'h-d'") == [["r2", "2"]])

            // The sensor resends r3 (it was never acknowledged): it is diffed against what is stored.
            #expect(try await connection.postReport(report("r3", pids: [1]), token: token).status == .ok)
            #expect(try await db.rows("SELECT entity_id FROM processes WHERE node_id = 'h-d' ORDER BY entity_id") == [["h-d;1"]])
            #expect(try await db.rows("SELECT last_report_id, state_version::text FROM nodes WHERE node_id = 'h-d'") == [["r3", "3"]])
            await connection.close()
        } catch {
            // PostgresNIO's errors describe themselves only when reflected.
            Issue.record("\(String(reflecting: error))")
            await console.stop()
            throw error
        }
        await console.stop()
    }

    /// A lane's first write of the day creates the day's partitions first; that call is bounded
    /// by `--commit-timeout` like the write itself. Unbounded, a call that never returned (a dead
    /// connection after a placement restart) held the lane, and the drain on SIGTERM, for good:
    /// a worker of the cluster test did not exit within 40 s. Here the partition lock is held on
    /// a connection of its own for 45 s: the report is answered 503 and the console stops well
    /// before the lock is let go.
    @Test func partitionCreationThatDoesNotReturnHoldsNeitherLaneNorShutdown() async throws {
        let console = try await TestConsole.start("partition") { $0.worker.commitTimeout = .seconds(2) }
        let db = console.database
        let blocker = try await PostgresConnection.connect(
            configuration: .init(host: db.url.host, port: db.url.port, username: db.url.username, password: db.url.password,
                                 database: db.url.database, tls: .disable),
            id: 1, logger: Logger(label: "blocker"))
        let releasing = Task {
            try? await Task.sleep(for: .seconds(45))
            try? await blocker.close()
        }
        do {
            // The worker created today's partitions as it started; the lane has not: it takes the lock.
            try await blocker.query("SELECT pg_advisory_lock(32771426737091699)", logger: Logger(label: "blocker")).consume()
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let body = Gzip.compress(Array(#"{"ID":"p1","Host":{"h-p":{"metadata":{"node_id":"h-p"}}}}"#.utf8))
            let started = ContinuousClock.now
            #expect(try await connection.postReport(body, token: token).status == .serviceUnavailable)
            #expect(ContinuousClock.now - started < .seconds(15))
            await connection.close()
        } catch {
            releasing.cancel()
            await console.stop()
            throw error
        }
        let stopping = ContinuousClock.now
        await console.stop()
        #expect(ContinuousClock.now - stopping < .seconds(30), "the console took \(ContinuousClock.now - stopping) to stop")
        releasing.cancel()
        try? await blocker.close()
    }

    @Test func clusterSensorReport() async throws {
        let console = try await TestConsole.start("cluster")
        do {
            let connection = try await console.connect()
            let token = try await console.login(console.sensorKey, on: connection).access
            let report = #"{"ID":"k1","KubernetesCluster":{"c-1":{"metadata":{"node_id":"c-1","node_name":"prod","node_type":"kubernetes_cluster"}}},"Pod":{"p1":{"metadata":{"node_name":"web / default / prod","kubernetes_namespace":"default","kubernetes_cluster_id":"c-1","kubernetes_state":"Running"}}},"Service":{"s1":{"metadata":{"kubernetes_namespace":"default"}}},"Namespace":{"c-1-default":{"metadata":{"node_name":"default / prod"}}}}"#
            #expect(try await connection.postReport(Gzip.compress(Array(report.utf8)), token: token).status == .ok)
            let db = console.database
            #expect(try await db.scalar("SELECT kind FROM nodes WHERE node_id = 'c-1'") == "kubernetes_cluster")
            #expect(try await db.rows("SELECT namespace, cluster_id, state FROM pods WHERE node_id = 'c-1'") == [["default", "c-1", "Running"]])
            #expect(try await db.count("SELECT count(*) FROM services WHERE node_id = 'c-1'") == 1)
            #expect(try await db.count("SELECT count(*) FROM namespaces WHERE node_id = 'c-1'") == 1)
            #expect(try await db.count("SELECT count(*) FROM kubernetes_clusters WHERE node_id = 'c-1'") == 1)
            await connection.close()
        } catch {
            await console.stop()
            throw error
        }
        await console.stop()
    }
}
