import Foundation
import IngestCore
import IngestStorage
import IngestTransport
import NIOCore
import NIOHTTP1

/// The operator API: admin keys only (a sensor key's token gets 403), separate from the sensor
/// routes by prefix.
extension Gateway {
    func handleOperatorRoute(_ request: HTTPRequest, writer: ResponseWriter) {
        do {
            _ = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .admin, now: clock.now())
        } catch {
            return respond(writer, error: error)
        }
        // PostgreSQL text holds no NUL: a path or query with one names no node, scan or filter,
        // and must not reach the database as one (it would fail there, a 5xx for bad input).
        if String(request.path).removingPercentEncoding?.contains("\0") == true
            || request.query.flatMap({ String($0).removingPercentEncoding })?.contains("\0") == true {
            return respond(writer, error: .invalidRequest("the path or the query holds a NUL character (%00)"))
        }
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(3)  // "", "api", "v1"
        let path = Array(parts)
        /// Runs `handler` when the request's method is the route's; otherwise answers 405.
        func on(_ method: HTTPMethod, _ handler: () -> Void) {
            guard request.method == method else { return refuseMethod(writer, allow: [method]) }
            handler()
        }
        switch path {
        case ["nodes"]:
            on(.GET) { listNodes(request, writer: writer) }
        case _ where path.count == 2 && path[0] == "nodes":
            on(.GET) { nodeDetail(Self.segment(path[1]), request: request, writer: writer) }
        case _ where path.count == 3 && path[0] == "nodes" && path[2] == "commands":
            on(.POST) { queueCommand(Self.segment(path[1]), request: request, writer: writer) }
        case _ where path.count == 3 && path[0] == "nodes" && path[2] == "scans":
            on(.POST) { queueScan(Self.segment(path[1]), request: request, writer: writer) }
        case _ where path.count == 3 && path[0] == "nodes" && path[2] == "findings":
            on(.GET) { listFindings(nodeID: Self.segment(path[1]), scanID: nil, request: request, writer: writer) }
        case _ where path.count == 4 && path[0] == "nodes" && path[2] == "findings" && path[3] == "export":
            on(.GET) { exportFindings(nodeID: Self.segment(path[1]), scanID: nil, request: request, writer: writer) }
        case _ where path.count == 4 && path[0] == "nodes" && path[2] == "findings" && path[3] == "counts":
            on(.GET) { findingCounts(Self.segment(path[1]), writer: writer) }
        case ["scans"]:
            on(.GET) { listScans(request, writer: writer) }
        case _ where path.count == 2 && path[0] == "scans":
            on(.GET) { scanDetail(Self.segment(path[1]), writer: writer) }
        case _ where path.count == 3 && path[0] == "scans" && path[2] == "sbom":
            on(.GET) { sbom(Self.segment(path[1]), part: nil, writer: writer) }
        case _ where path.count == 5 && path[0] == "scans" && path[2] == "sbom" && path[3] == "parts":
            on(.GET) {
                // A part number is an int4 in the database: a larger one would not fit the query.
                guard let part = Int32(path[4]), part >= 0 else {
                    return respond(writer, error: .invalidRequest("part: a number from 0 to \(Int32.max)"))
                }
                sbom(Self.segment(path[1]), part: Int(part), writer: writer)
            }
        case _ where path.count == 3 && path[0] == "scans" && path[2] == "findings":
            on(.GET) { listFindings(nodeID: nil, scanID: Self.segment(path[1]), request: request, writer: writer) }
        case _ where path.count == 4 && path[0] == "scans" && path[2] == "findings" && path[3] == "export":
            on(.GET) { exportFindings(nodeID: nil, scanID: Self.segment(path[1]), request: request, writer: writer) }
        case ["cluster"]:
            on(.GET) { clusterStatus(writer: writer) }
        case ["openapi.json"]:
            on(.GET) { writer.respond(.json(.ok, OperatorAPIDocument.json)) }
        default:
            respond(writer, error: .notFound)
        }
    }

    /// `GET /api/v1/nodes?kind=host|kubernetes_cluster&status=online|offline&limit=N&after=<id>&content=true`.
    func listNodes(_ request: HTTPRequest, writer: ResponseWriter) {
        var filter = PlacementStore.NodeFilter(limit: 100)
        if let kind = request.queryParameter("kind") {
            guard let value = NodeKind(rawValue: kind) else {
                return respond(writer, error: .invalidRequest("kind: host or kubernetes_cluster"))
            }
            filter.kind = value
        }
        switch request.queryParameter("status") {
        case nil, "all": break
        case "online": filter.online = true
        case "offline": filter.online = false
        default: return respond(writer, error: .invalidRequest("status: online, offline or all"))
        }
        if let limit = request.queryParameter("limit") {
            guard let value = Int(limit), (1...configuration.maxPageSize).contains(value) else {
                return respond(writer, error: .invalidRequest("limit: 1 to \(configuration.maxPageSize)"))
            }
            filter.limit = value
        }
        filter.after = request.queryParameter("after")
        switch request.queryParameter("content") {
        case nil, "false": break
        case "true": filter.content = true
        default: return respond(writer, error: .invalidRequest("content: true or false"))
        }
        let reader = self.reader
        let page = filter
        respondAsync(writer) { () throws(IngestError) in
            let page = try await Self.storage { try await reader.listNodes(page) }
            let next = page.next.map(JSONText.quoted) ?? "null"
            return .json(.ok, #"{"nodes":\#(page.json),"next":\#(next)}"#)
        }
    }

    /// `GET /api/v1/nodes/{id}[?kinds=process,container,…]`.
    func nodeDetail(_ nodeID: String, request: HTTPRequest, writer: ResponseWriter) {
        var kinds: Set<EntityKind>?
        if let list = request.queryParameter("kinds") {
            var parsed = Set<EntityKind>()
            for name in list.split(separator: ",") {
                guard let kind = EntityKind(name: String(name)) else {
                    return respond(writer, error: .invalidRequest(
                        "kinds: a comma-separated list of \(EntityKind.allCases.map(\.name).joined(separator: ", "))"))
                }
                parsed.insert(kind)
            }
            kinds = parsed
        }
        let placement = reader.store(router.placement(of: nodeID))
        let selected = kinds
        respondAsync(writer) { () throws(IngestError) in
            guard let json = try await Self.storage({ try await placement.nodeDetail(nodeID, kinds: selected) }) else {
                throw IngestError.noSuch("node")
            }
            return .json(.ok, json)
        }
    }

    /// `POST /api/v1/nodes/{id}/commands` with `{"action": "StartVulnerabilityScan" | "action_id": 0,
    /// "request_payload": {…} | "<json>"}`: queues a ThreatMapper action for the node.
    func queueCommand(_ nodeID: String, request: HTTPRequest, writer: ResponseWriter) {
        let action: ThreatMapperAction
        let payload: String
        do throws(IngestError) {
            let object = try jsonObject(request.body)
            if let name = object["action"]?.string {
                guard let named = ThreatMapperAction(name: name) else {
                    throw IngestError.invalidRequest(
                        "action: one of \(ThreatMapperAction.allCases.map(\.name).joined(separator: ", "))")
                }
                action = named
            } else if let id = object["action_id"]?.int, let numbered = ThreatMapperAction(rawValue: id) {
                action = numbered
            } else {
                throw IngestError.invalidRequest("action (a ThreatMapper action name) or action_id (0 to 13) is required")
            }
            payload = try Self.payloadText(object["request_payload"], action: action, nodeID: nodeID)
        } catch {
            return respond(writer, error: error)
        }
        if let kind = FindingKind(startedBy: action) {
            return queueScan(nodeID, kind: kind, action: action, payload: payload, writer: writer)
        }
        let placement = reader.store(router.placement(of: nodeID))
        let router = self.router
        respondAsync(writer) { () throws(IngestError) in
            guard let node = try await Self.storage({ try await placement.nodes(named: [nodeID]).first }) else {
                throw IngestError.noSuch("node")
            }
            let kind = NodeKind(rawValue: node.kind) ?? .host
            guard action.isSupported(by: kind) else {
                throw IngestError.invalidRequest("\(action.name) is not an action a \(kind.rawValue) sensor runs")
            }
            let command = try await Self.storage {
                try await Self.retrying(router: router, nodeID: nodeID) { route in
                    try await route.owner.queueCommand(
                        nodeID: nodeID, shard: route.shard, epoch: route.epoch, actionID: action.rawValue, requestPayload: payload)
                }
            }
            return .json(.created, #"{"id":\#(command.commandID),"node_id":\#(JSONText.quoted(nodeID)),"action_id":\#(action.rawValue),"action":"\#(action.name)","request_payload":\#(JSONText.quoted(payload))}"#)
        }
    }

    /// The payload as the JSON text sensors receive. Missing: `{"node_id": <id>, "node_type": 2,
    /// "bin_args": {}}`. An object is passed on as written; a string must hold a JSON object.
    static func payloadText(_ value: JSONObject.Value?, action: ThreatMapperAction, nodeID: String) throws(IngestError) -> String {
        switch value?.kind {
        case nil, .null?:
            return #"{"node_id":\#(JSONText.quoted(nodeID)),"node_type":2,"bin_args":{}}"#
        case .object?:
            return value!.raw
        case .string?:
            let text = value!.string ?? ""
            guard (try? JSONObject(parsing: Array(text.utf8))) != nil else {
                throw IngestError.invalidRequest("request_payload: a JSON object, or a string holding one")
            }
            return text
        default:
            throw IngestError.invalidRequest("request_payload: a JSON object, or a string holding one")
        }
    }

    /// `GET /api/v1/cluster`: members, shard counts per worker, map version, leader, node counts.
    func clusterStatus(writer: ResponseWriter) {
        let catalog = self.catalog
        let reader = self.reader
        let shardCount = router.shardFunction.shardCount
        let local = localWorkerStats()
        let remote = router.remoteOwners
        respondAsync(writer) { () throws(IngestError) in
            try await Self.storage {
                var workerStats = local
                for owner in remote.sorted(by: { $0.memberID < $1.memberID }) {
                    if let stats = await owner.stats() { workerStats.append(stats) }
                }
                let (members, now) = try await catalog.members()
                let map = try await catalog.shardMap(shardCount: shardCount)
                let leader = try await catalog.leader()
                let counts = map.shardCounts()
                let nodeCounts = try await reader.nodeCounts()
                let memberJSON = members.map { member in
                    #"{"id":\#(JSONText.quoted(member.id)),"role":"\#(member.role.rawValue)","state":"\#(member.state.rawValue)","# +
                        #""address":\#(JSONText.quoted(member.address)),"incarnation":\#(member.incarnation),"# +
                        #""heartbeat_age_ms":\#(now.milliseconds - member.lastHeartbeat.milliseconds),"shards":\#(counts[member.id] ?? 0)}"#
                }
                let unassigned = map.unassignedCount
                let nodesJSON = nodeCounts.map {
                    #"{"kind":"\#($0.kind)","online":\#($0.online),"count":\#($0.count)}"#
                }
                let body = #"{"map_version":\#(map.version),"shard_count":\#(shardCount),"unassigned_shards":\#(unassigned),"# +
                    #""leader":\#(leader.map(JSONText.quoted) ?? "null"),"members":[\#(memberJSON.joined(separator: ","))],"# +
                    #""nodes":[\#(nodesJSON.joined(separator: ","))],"workers":[\#(workerStats.joined(separator: ","))]}"#
                return .json(.ok, body)
            }
        }
    }

    /// Runs `work` against the node's owner, re-reading the map and retrying while the owner
    /// answers `shard_moved` or `unavailable` (a move in progress), up to the forward deadline.
    static func retrying<T: Sendable>(
        router: ShardRouter, nodeID: String, attempts: Int = 4, _ work: (ShardRouter.Route) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                guard case .success(let route) = router.route(nodeID) else { throw IngestError.unavailable }
                return try await work(route)
            } catch let error as IngestError where Gateway.isRetryable(error) && attempt < attempts {
                await router.refreshNow()
                try? await Task.sleep(for: Gateway.backoff(attempt: attempt))
            }
        }
    }

    /// Runs storage work, turning database failures into 503 (logged) and passing IngestErrors through.
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
