import Foundation
import IngestCompression
import IngestCore
import IngestTestSupport
import IngestTransport
import NIOCore
import NIOHTTP1
import Testing

/// The operator routes the web console added to the API: a node's change history, search by ID
/// prefix, and API keys; over real TLS and HTTP/2 against a console on a real PostgreSQL.
@Suite(.timeLimit(.minutes(3)))
struct OperatorServiceTests {
    static func report(_ host: String, id: String, pids: [Int]) -> [UInt8] {
        let processes = pids.map {
            #""\#(host);\#($0)":{"metadata":{"node_id":"\#(host);\#($0)","pid":\#($0),"cmdline":"/bin/p\#($0)"},"parents":{"host":"\#(host)"}}"#
        }
        let text = #"{"ID":"\#(id)","Host":{"\#(host)":{"metadata":{"node_id":"\#(host)","node_type":"host","host_name":"\#(host)"}}},"# +
            #""Process":{\#(processes.joined(separator: ","))}}"#
        return Gzip.compress(Array(text.utf8))
    }

    @Test func aNodesChangesArePagedNewestFirstAndFiltered() async throws {
        try await TestConsole.with("changes") { console in
            let connection = try await console.connect()
            let sensor = try await console.login(console.sensorKey, on: connection).access
            let admin = try await console.login(console.adminKey, on: connection).access
            #expect(try await connection.postReport(Self.report("host-c", id: "r1", pids: [1, 2]), token: sensor).status == .ok)
            console.clock.advance(by: .seconds(30))
            #expect(try await connection.postReport(Self.report("host-c", id: "r2", pids: [1, 3]), token: sensor).status == .ok)

            let all = try json(try await connection.get("/api/v1/nodes/host-c/changes", token: admin))
            let changes = try #require(all["changes"] as? [[String: Any]])
            let summary = changes.map { "\($0["change"]!) \($0["kind"]!) \($0["entity_id"]!)" }
            // The first report is the node's appearance; the second a process gone and one new.
            #expect(Set(summary.prefix(2)) == ["vanished process host-c;2", "appeared process host-c;3"])
            #expect(summary.last == "appeared node host-c")
            #expect(all["next"] is NSNull)

            let processes = try json(try await connection.get("/api/v1/nodes/host-c/changes?kind=process&change=vanished", token: admin))
            #expect((processes["changes"] as? [[String: Any]])?.map { $0["entity_id"] as? String } == ["host-c;2"])

            // One at a time, each page continues where the one before ended.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = cursor.map { "&after=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
                let page = try json(try await connection.get("/api/v1/nodes/host-c/changes?limit=1" + query, token: admin))
                seen += (page["changes"] as? [[String: Any]] ?? []).map { "\($0["change"]!) \($0["entity_id"]!)" }
                cursor = page["next"] as? String
            } while cursor != nil && seen.count < 10
            #expect(seen.count == changes.count && Set(seen).count == seen.count)

            let old = try json(try await connection.get("/api/v1/nodes/host-c/changes?until=2000-01-01T00:00:00Z", token: admin))
            #expect((old["changes"] as? [Any])?.isEmpty == true)
            #expect(try await connection.get("/api/v1/nodes/host-c/changes?after=nonsense", token: admin).status == .badRequest)
            #expect(try await connection.get("/api/v1/nodes/host-c/changes?after=900000000000000000~node~appeared~x", token: admin).status == .badRequest)
            #expect(try await connection.get("/api/v1/nodes/host-c/changes?since=yesterday", token: admin).status == .badRequest)
            #expect(try await connection.get("/api/v1/nodes/host-c/changes?kind=planet", token: admin).status == .badRequest)
            #expect(try await connection.get("/api/v1/nodes/no-such/changes", token: admin).status == .notFound)
            #expect(try await connection.get("/api/v1/nodes/host-c?kinds=", token: admin).status == .badRequest)
            #expect(try await connection.get("/api/v1/nodes/host-c?kinds=process,", token: admin).status == .badRequest)
        }
    }

    @Test func nodesAreFoundByIDPrefix() async throws {
        try await TestConsole.with("prefix") { console in
            let connection = try await console.connect()
            let sensor = try await console.login(console.sensorKey, on: connection).access
            let admin = try await console.login(console.adminKey, on: connection).access
            for (index, host) in ["alpha-1", "alpha-2", "alphabet", "beta-1", "Alpha-3"].enumerated() {
                #expect(try await connection.postReport(Self.report(host, id: "p\(index)", pids: [1]), token: sensor).status == .ok)
            }
            let ids = { (query: String) async throws -> [String] in
                let page = try json(try await connection.get("/api/v1/nodes?" + query, token: admin))
                return (page["nodes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            }
            #expect(try await ids("prefix=alpha") == ["alpha-1", "alpha-2", "alphabet"])
            #expect(try await ids("prefix=alpha-") == ["alpha-1", "alpha-2"])
            #expect(try await ids("prefix=alpha&after=alpha-1&limit=1") == ["alpha-2"])
            #expect(try await ids("prefix=gamma").isEmpty)
            #expect(try await ids("prefix=%25") .isEmpty)  // a LIKE wildcard is a character like any other

            // A Kubernetes cluster is found by its name too (its ID is the cluster's ID); a host
            // that reports the cluster it runs in is not.
            let cluster = #"{"ID":"k1","KubernetesCluster":{"c-7f3a":{"metadata":{"node_id":"c-7f3a","node_type":"kubernetes_cluster","node_name":"prod-eu"}}}}"#
            #expect(try await connection.postReport(Gzip.compress(Array(cluster.utf8)), token: sensor).status == .ok)
            let member = #"{"ID":"k2","Host":{"node-a":{"metadata":{"node_id":"node-a","node_type":"host"}}},"# +
                #""KubernetesCluster":{"c-7f3a":{"metadata":{"node_id":"c-7f3a","node_type":"kubernetes_cluster","node_name":"prod-eu"}}}}"#
            #expect(try await connection.postReport(Gzip.compress(Array(member.utf8)), token: sensor).status == .ok)
            #expect(try await ids("prefix=prod") == ["c-7f3a"])
            #expect(try await ids("prefix=c-7") == ["c-7f3a"])
            #expect(try await ids("prefix=prod-eu&kind=host").isEmpty)
        }
    }

    @Test func keysAreCreatedListedAndRevokedButNotTheCallersOwn() async throws {
        try await TestConsole.with("keys") { console in
            let connection = try await console.connect()
            let admin = try await console.login(console.adminKey, on: connection).access
            let created = try await connection.postJSON("/api/v1/keys", #"{"role":"sensor","label":"rack 7 <b>"}"#, token: admin)
            #expect(created.status == .created)
            let key = try json(created)
            let token = try #require(key["key"] as? String)
            let id = try #require(key["id"] as? Int)
            let login = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(token)"}"#, token: nil)
            #expect(login.status == .ok)

            let list = try json(try await connection.get("/api/v1/keys", token: admin))
            let listed = try #require((list["keys"] as? [[String: Any]])?.first { $0["id"] as? Int == id })
            #expect(listed["label"] as? String == "rack 7 <b>" && listed["role"] as? String == "sensor" && listed["revoked_at"] is NSNull)
            #expect(!list.description.contains(token))

            let delete = { (id: Int) async throws -> HTTPResponseStatus in
                try await connection.request(.DELETE, "/api/v1/keys/\(id)", headers: ["authorization": "Bearer \(admin)"]).status
            }
            let ownID = try #require((list["keys"] as? [[String: Any]])?.first { $0["role"] as? String == "admin" }?["id"] as? Int)
            #expect(try await delete(ownID) == .badRequest)
            #expect(try await delete(id) == .noContent)
            #expect(try await delete(id) == .notFound)
            // The revocation reaches the key table by notification; logins stop within moments.
            var refused = false
            for _ in 0..<50 where !refused {
                refused = try await connection.postJSON("/deepfence/auth/token", #"{"api_token":"\#(token)"}"#, token: nil).status == .unauthorized
                if !refused { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(refused)
            #expect(try await connection.postJSON("/api/v1/keys", #"{"role":"root"}"#, token: admin).status == .badRequest)
            #expect(try await connection.postJSON("/api/v1/keys", #"{"role":"admin","label":7}"#, token: admin).status == .badRequest)
            #expect(try await connection.postJSON("/api/v1/keys", #"{"role":"admin","label":null}"#, token: admin).status == .badRequest)
            let sensor = try await console.login(console.sensorKey, on: connection).access
            #expect(try await connection.get("/api/v1/keys", token: sensor).status == .forbidden)
        }
    }
}
