import Foundation
import IngestAuth
import IngestCore
import IngestStorage
import IngestTransport
import NIOCore
import NIOHTTP1

/// The operator API: admin keys only (a sensor key's token gets 403), separate from the sensor
/// routes by prefix.
extension Gateway {
    func handleOperatorRoute(_ request: HTTPRequest, writer: ResponseWriter) {
        let claims: TokenSigner.Claims
        do {
            claims = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .admin, now: clock.now())
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
        case _ where path.count == 3 && path[0] == "nodes" && path[2] == "changes":
            on(.GET) { nodeChanges(Self.segment(path[1]), request: request, writer: writer) }
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
        case ["keys"]:
            switch request.method {
            case .GET: listKeys(writer: writer)
            case .POST: createKey(request, writer: writer)
            default: refuseMethod(writer, allow: [.GET, .POST])
            }
        case _ where path.count == 2 && path[0] == "keys":
            on(.DELETE) { revokeKey(path[1], by: claims.keyID, writer: writer) }
        case ["cluster"]:
            on(.GET) { clusterStatus(writer: writer) }
        case ["openapi.json"]:
            on(.GET) { writer.respond(.json(.ok, OperatorAPIDocument.json)) }
        default:
            respond(writer, error: .notFound)
        }
    }

    /// `GET /api/v1/nodes?kind=host|kubernetes_cluster&status=online|offline&prefix=<id prefix>&limit=N&after=<id>&content=true`.
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
        if let prefix = request.queryParameter("prefix"), !prefix.isEmpty { filter.prefix = prefix }
        switch request.queryParameter("content") {
        case nil, "false": break
        case "true": filter.content = true
        default: return respond(writer, error: .invalidRequest("content: true or false"))
        }
        let operations = self.operations
        let page = filter
        respondAsync(writer) { () throws(IngestError) in
            let page = try await operations.nodes(page)
            return .json(.ok, #"{"nodes":\#(page.json),"next":\#(page.next.map(JSONText.quoted) ?? "null")}"#)
        }
    }

    /// `GET /api/v1/nodes/{id}[?kinds=process,container,…]`.
    func nodeDetail(_ nodeID: String, request: HTTPRequest, writer: ResponseWriter) {
        var kinds: Set<EntityKind>?
        if let list = request.queryParameter("kinds") {
            var parsed = Set<EntityKind>()
            for name in list.split(separator: ",", omittingEmptySubsequences: false) {
                guard let kind = EntityKind(name: String(name)) else {
                    return respond(writer, error: .invalidRequest(
                        "kinds: a comma-separated list of \(EntityKind.allCases.map(\.name).joined(separator: ", "))"))
                }
                parsed.insert(kind)
            }
            kinds = parsed
        }
        let operations = self.operations
        let selected = kinds
        respondAsync(writer) { () throws(IngestError) in .json(.ok, try await operations.node(nodeID, kinds: selected)) }
    }

    /// `GET /api/v1/nodes/{id}/changes?kind=<kind>&change=appeared|changed|vanished&since=<RFC 3339>&until=<RFC 3339>&limit=N&after=<cursor>`:
    /// what appeared, changed or vanished on the node, newest first.
    func nodeChanges(_ nodeID: String, request: HTTPRequest, writer: ResponseWriter) {
        var filter = PlacementStore.ChangeFilter()
        do throws(IngestError) {
            filter.limit = try pageSize(request)
            if let kind = request.queryParameter("kind") {
                guard kind == "node" || EntityKind(name: kind) != nil else {
                    throw IngestError.invalidRequest("kind: node or one of \(EntityKind.allCases.map(\.name).joined(separator: ", "))")
                }
                filter.kind = kind
            }
            if let change = request.queryParameter("change") {
                guard ["appeared", "changed", "vanished"].contains(change) else {
                    throw IngestError.invalidRequest("change: appeared, changed or vanished")
                }
                filter.change = change
            }
            filter.since = try Self.instant(request.queryParameter("since"), name: "since")
            filter.until = try Self.instant(request.queryParameter("until"), name: "until")
            if let after = request.queryParameter("after") {
                guard let cursor = ChangeCursor(after) else { throw IngestError.invalidRequest("after: a cursor from a previous page") }
                filter.after = cursor
            }
        } catch {
            return respond(writer, error: error)
        }
        let operations = self.operations
        let page = filter
        respondAsync(writer) { () throws(IngestError) in
            let changes = try await operations.changes(of: nodeID, page)
            let next = changes.next.map { JSONText.quoted($0.description) } ?? "null"
            return .json(.ok, #"{"changes":[\#(changes.items.joined(separator: ","))],"next":\#(next)}"#)
        }
    }

    /// An RFC 3339 instant of the query (`2026-12-06T15:00:00Z`, fractions allowed), or nil when absent.
    static func instant(_ text: String?, name: String) throws(IngestError) -> Date? {
        guard let text else { return nil }
        guard let date = RFC3339.parse(text) else {
            throw IngestError.invalidRequest("\(name): an RFC 3339 time such as 2026-12-06T15:00:00Z")
        }
        return date
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
            return queueScan(nodeID, kind: kind, payload: payload, writer: writer)
        }
        let operations = self.operations
        respondAsync(writer) { () throws(IngestError) in
            .json(.created, try await operations.queueCommand(nodeID, action: action, payload: payload))
        }
    }

    /// The payload as the JSON text sensors receive. Missing: `{"node_id": <id>, "node_type": 2,
    /// "bin_args": {}}`. An object is passed on as written; a string must hold a JSON object.
    static func payloadText(_ value: JSONObject.Value?, action: ThreatMapperAction, nodeID: String) throws(IngestError) -> String {
        switch value?.kind {
        case nil, .null?:
            return OperatorService.defaultPayload(nodeID: nodeID)
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
        let operations = self.operations
        respondAsync(writer) { () throws(IngestError) in .json(.ok, try await operations.cluster()) }
    }

    // MARK: API keys

    /// `GET /api/v1/keys`: every key (never the key itself), revoked ones with their time.
    func listKeys(writer: ResponseWriter) {
        let operations = self.operations
        respondAsync(writer) { () throws(IngestError) in
            let keys = try await operations.apiKeys().map { key in
                #"{"id":\#(key.id),"role":"\#(key.role)","namespace":\#(JSONText.quoted(key.namespace)),"# +
                    #""label":\#(JSONText.quoted(key.label)),"created_at":"\#(RFC3339.format(key.createdAt))","# +
                    #""revoked_at":\#(key.revokedAt.map { "\"\(RFC3339.format($0))\"" } ?? "null")}"#
            }
            return .json(.ok, #"{"keys":[\#(keys.joined(separator: ","))]}"#)
        }
    }

    /// `POST /api/v1/keys` with `{"role": "sensor" | "admin", "label": "…"}`: the new key, shown
    /// this once (201).
    func createKey(_ request: HTTPRequest, writer: ResponseWriter) {
        let role: APIRole
        let label: String
        do throws(IngestError) {
            let object = try jsonObject(request.body)
            guard let name = object["role"]?.string, let value = APIRole(rawValue: name) else {
                throw IngestError.invalidRequest("role: sensor or admin")
            }
            guard object["label"] == nil || object["label"]?.string != nil else {
                throw IngestError.invalidRequest("label: a string")
            }
            (role, label) = (value, object["label"]?.string ?? "")
        } catch {
            return respond(writer, error: error)
        }
        let operations = self.operations
        respondAsync(writer) { () throws(IngestError) in
            let created = try await operations.createKey(role: role, label: label)
            return .json(.created, #"{"id":\#(created.id),"role":"\#(role.rawValue)","label":\#(JSONText.quoted(label)),"key":\#(JSONText.quoted(created.key.token))}"#)
        }
    }

    /// `DELETE /api/v1/keys/{id}`: revokes the key (204); 404 when there is no such unrevoked key.
    func revokeKey(_ text: Substring, by caller: Int64, writer: ResponseWriter) {
        guard let id = Int64(text), id > 0 else { return respond(writer, error: .invalidRequest("id: a key's number")) }
        let operations = self.operations
        respondAsync(writer) { () throws(IngestError) in
            try await operations.revokeKey(id: id, by: caller)
            return HTTPResponse(status: .noContent)
        }
    }
}
