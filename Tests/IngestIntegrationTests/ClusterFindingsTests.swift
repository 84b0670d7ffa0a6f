import Foundation
import IngestCompression
import IngestCore
import IngestTestSupport
import IngestTransport
import Testing

/// Scan results through a real cluster: a coordinator, two workers and a gateway as separate
/// `console` processes, two placements. Scans queued through the gateway's operator API are
/// stored by the owning workers (`/internal/v1/scans`); a findings request spanning two nodes is
/// split by the gateway and each part written by its node's owner (`/internal/v1/findings`) in
/// its node's placement; an SBOM's parts land in the node's placement too.
@Suite(.timeLimit(.minutes(5)))
struct ClusterFindingsTests {
    @Test func findingsAreSplitPerNodeAndWrittenByEachOwnerInItsPlacement() async throws {
        let cluster = try await ClusterHarness(shardCount: 64)
        do {
            try await run(cluster)
        } catch {
            Issue.record("cluster findings test failed: \(error); logs in \(cluster.directory)")
        }
        await cluster.stop()
    }

    func run(_ cluster: ClusterHarness) async throws {
        try await cluster.create()
        try cluster.startCoordinator("coordinator-1", beatRate: 15)
        for name in ["worker-1", "worker-2"] { try cluster.startWorker(name, beatRate: 15) }
        try cluster.startGateway("gateway-1")
        let ready = await cluster.waitUntil(.seconds(60)) {
            var all = true
            for name in ["worker-1", "worker-2", "gateway-1", "coordinator-1"] where !(await cluster.isReady(name)) { all = false }
            return all
        }
        try #require(ready != nil, "the roles did not become ready")
        _ = try await cluster.waitUntil(.seconds(30)) { try await cluster.allShardsOwned() }
        let gateway = try await cluster.connect("gateway-1")
        let sensor = try await ConsoleProcessTests.login(cluster.sensorKey, on: gateway)
        let admin = try await ConsoleProcessTests.login(cluster.adminKey, on: gateway)

        // Two nodes, one in each placement (placement "a" holds the even shards).
        let function = ShardFunction(shardCount: 64)
        let candidates = (0..<200).map { "cf-host-\($0)" }
        let even = try #require(candidates.first { function.shard(of: $0) % 2 == 0 })
        let odd = try #require(candidates.first { function.shard(of: $0) % 2 == 1 })
        var scans: [String: String] = [:]
        for node in [even, odd] {
            #expect(try await gateway.postReport(gzippedReport(hostname: node), token: sensor).status == .ok)
            let queued = try await gateway.postJSON("/api/v1/nodes/\(node)/scans", #"{"kind":"vulnerability"}"#, token: admin)
            #expect(queued.status == .created, "\(queued.text)")
            scans[node] = try #require(try json(queued)["scan_id"] as? String)
            #expect(try await gateway.postJSON("/api/v1/nodes/\(node)/scans", #"{"kind":"vulnerability"}"#, token: admin).status == .conflict)
            let poll = try json(try await gateway.postJSON(
                "/deepfence/controls/agent", #"{"node_id":"\#(node)","available_workload":1}"#, token: sensor))
            let payload = (poll["commands"] as? [[String: Any]])?.first?["request_payload"] as? String ?? ""
            #expect(payload.contains(scans[node]!), "\(poll)")
        }
        // One request with both nodes' findings: split, each part committed by its owner.
        let records = (0..<120).map { index -> String in
            let scan = scans[index % 2 == 0 ? even : odd]!
            return #"{"scan_id":"\#(scan)","cve_id":"CVE-\#(index)","cve_caused_by_package":"p","cve_severity":"\#(index % 3 == 0 ? "high" : "low")"}"#
        }
        let body = "[" + records.joined(separator: ",") + "]"
        let stored = try await gateway.postJSON("/deepfence/ingest/vulnerabilities", body, token: sensor)
        #expect(stored.status == .ok, "\(stored.text)")
        #expect(try json(stored)["nodes"] as? Int == 2)
        #expect(try await gateway.postJSON("/deepfence/ingest/vulnerabilities", body, token: sensor).status == .ok)
        for (node, scan) in scans {
            let status = #"[{"scan_id":"\#(scan)","scan_status":"COMPLETE","scan_message":""}]"#
            #expect(try await gateway.postJSON("/deepfence/ingest/vulnerabilities-scan-logs", status, token: sensor).status == .ok)
            let detail = try json(try await gateway.get("/api/v1/scans/\(scan)", token: admin))
            #expect(detail["status"] as? String == "COMPLETE" && detail["findings"] as? Int == 60, "\(node): \(detail)")
            #expect(detail["counts"] as? [String: Int] == ["high": 20, "low": 40])
        }
        // Each node's rows are in its own placement only.
        #expect(try await cluster.placementA.count("SELECT count(*) FROM vulnerability_findings WHERE node_id = '\(even)'") == 60)
        #expect(try await cluster.placementA.count("SELECT count(*) FROM vulnerability_findings WHERE node_id = '\(odd)'") == 0)
        #expect(try await cluster.rowsB("SELECT count(*)::text FROM vulnerability_findings WHERE node_id = '\(odd)'") == [["60"]])
        #expect(try await cluster.rowsB("SELECT count(*)::text FROM scans WHERE node_id = '\(even)'") == [["0"]])

        // An SBOM for the odd node's scan: its parts and its row in placement "b".
        let sbom = Gzip.compress(Array(String(repeating: #"{"name":"pkg","version":"1"},"#, count: 50_000).utf8), level: 1)
        let upload = #"{"scan_id":"\#(scans[odd]!)","image_name":"img","sbom":"\#(Data(sbom).base64EncodedString())"}"#
        let uploaded = try await gateway.postJSON("/deepfence/ingest/sbom", upload, token: sensor)
        #expect(uploaded.status == .ok, "\(uploaded.text)")
        let row = try json(try await gateway.get("/api/v1/scans/\(scans[odd]!)/sbom", token: admin))
        #expect(row["bytes"] as? Int == sbom.count)
        #expect(try await cluster.rowsB("SELECT count(*)::text FROM sbom_parts") == [[String(row["parts"] as? Int ?? -1)]])
        #expect(try await cluster.placementA.count("SELECT count(*) FROM sbom_parts") == 0)

        // The gateway serves the web console: both nodes on the nodes page (a page merged from
        // both placements), both scans on the scans page, both placements on the cluster page.
        let session = try await WebSignIn.session(on: gateway, key: cluster.adminKey)
        let nodesPage = try await gateway.request(.GET, "/console/nodes?q=cf-host", headers: ["cookie": session])
        #expect(nodesPage.status == .ok && nodesPage.text.contains(">\(even)</a>") && nodesPage.text.contains(">\(odd)</a>"))
        let scansPage = try await gateway.request(.GET, "/console/scans", headers: ["cookie": session]).text
        #expect(scans.values.allSatisfy { scansPage.contains(">\($0)</a>") })
        let clusterPage = try await gateway.request(.GET, "/console/cluster", headers: ["cookie": session]).text
        #expect(clusterPage.components(separatedBy: "reachable</span>").count - 1 == 2, "\(clusterPage)")
        #expect(clusterPage.contains("worker-1") && clusterPage.contains("worker-2"))
        await gateway.close()
    }
}
