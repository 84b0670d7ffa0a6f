import Foundation
import IngestCore
import IngestStorage
import IngestTransport
import NIOCore
import NIOHTTP1

/// The operator API's scans and findings: queue a scan, list scans, page through findings (JSON
/// or CSV), and a node's counts by severity.
extension Gateway {
    /// A path segment, percent-decoded.
    static func segment(_ text: Substring) -> String { String(text).removingPercentEncoding ?? String(text) }

    /// `POST /api/v1/nodes/{id}/scans` with `{"kind": "vulnerability" | "secret" | "malware" |
    /// "compliance", "request_payload": {…}}` (the payload as for the action; optional).
    func queueScan(_ nodeID: String, request: HTTPRequest, writer: ResponseWriter) {
        let kind: FindingKind
        let action: ThreatMapperAction
        let payload: String
        do throws(IngestError) {
            let object = try jsonObject(request.body)
            let startable = FindingKind.allCases.filter { $0.startAction != nil }
            guard let name = object["kind"]?.string, let named = FindingKind(rawValue: name), let start = named.startAction else {
                throw IngestError.invalidRequest("kind: one of \(startable.map(\.rawValue).joined(separator: ", "))")
            }
            (kind, action) = (named, start)
            payload = try Self.payloadText(object["request_payload"], action: action, nodeID: nodeID)
        } catch {
            return respond(writer, error: error)
        }
        queueScan(nodeID, kind: kind, action: action, payload: payload, writer: writer)
    }

    /// Stores the scan as `QUEUED` with its start command (the payload's `bin_args.scan_id` set
    /// to the new scan's ID), through the node's owner; 409 while the node has a scan of that
    /// kind that has not ended.
    func queueScan(_ nodeID: String, kind: FindingKind, action: ThreatMapperAction, payload: String, writer: ResponseWriter) {
        let placement = reader.store(router.placement(of: nodeID))
        let router = self.router
        let clock = self.clock
        respondAsync(writer) { () throws(IngestError) in
            guard let node = try await Self.storage({ try await placement.nodes(named: [nodeID]).first }) else {
                throw IngestError.noSuch("node")
            }
            let nodeKind = NodeKind(rawValue: node.kind) ?? .host
            guard action.isSupported(by: nodeKind) else {
                throw IngestError.invalidRequest("\(action.name) is not an action a \(nodeKind.rawValue) sensor runs")
            }
            // A new ID is drawn while the one drawn is taken (scans of the node queued in the same millisecond).
            var attempt = 0
            while true {
                attempt += 1
                let scanID = ScanID.make(nodeID: nodeID, at: clock.now())
                let withScan = try Self.payload(payload, scanID: scanID, nodeID: nodeID)
                let command: AgentCommand
                do throws(IngestError) {
                    command = try await Self.storage {
                        try await Self.retrying(router: router, nodeID: nodeID) { route in
                            try await route.owner.queueScan(
                                scanID, kind: kind, nodeID: nodeID, shard: route.shard, epoch: route.epoch, actionID: action.rawValue,
                                requestPayload: withScan)
                        }
                    }
                } catch where error.code == .scanIDTaken && attempt < 5 {
                    continue
                }
                return .json(.created, #"{"scan_id":\#(JSONText.quoted(scanID)),"kind":"\#(kind.rawValue)","status":"QUEUED","id":\#(command.commandID),"node_id":\#(JSONText.quoted(nodeID)),"action_id":\#(action.rawValue),"action":"\#(action.name)","request_payload":\#(JSONText.quoted(withScan))}"#)
            }
        }
    }

    /// The payload with `bin_args.scan_id` (and `bin_args.node_id`, `node_id` when missing) set:
    /// where ThreatMapper sensors read the scan they run.
    static func payload(_ text: String, scanID: String, nodeID: String) throws(IngestError) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw IngestError.invalidRequest("request_payload: a JSON object, or a string holding one")
        }
        if object["bin_args"] != nil && !(object["bin_args"] is [String: Any]) {
            throw IngestError.invalidRequest("request_payload.bin_args: a JSON object")
        }
        var binArgs = object["bin_args"] as? [String: Any] ?? [:]
        binArgs["scan_id"] = scanID
        if binArgs["node_id"] == nil { binArgs["node_id"] = nodeID }
        object["bin_args"] = binArgs
        if object["node_id"] == nil { object["node_id"] = nodeID }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw IngestError.invalidRequest("request_payload: a JSON object, or a string holding one")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The page size a list asks for (`limit`, 1 to the maximum page size; default 100).
    func pageSize(_ request: HTTPRequest) throws(IngestError) -> Int {
        guard let limit = request.queryParameter("limit") else { return 100 }
        guard let value = Int(limit), (1...configuration.maxPageSize).contains(value) else {
            throw IngestError.invalidRequest("limit: 1 to \(configuration.maxPageSize)")
        }
        return value
    }

    /// `GET /api/v1/scans?node=<id>&kind=<kind>&status=<STATUS>&limit=N&after=<scan id>`.
    func listScans(_ request: HTTPRequest, writer: ResponseWriter) {
        var filter = PlacementStore.ScanFilter()
        do throws(IngestError) {
            filter.limit = try pageSize(request)
            filter.nodeID = request.queryParameter("node")
            if let kind = request.queryParameter("kind") {
                guard let value = FindingKind(rawValue: kind) else {
                    throw IngestError.invalidRequest("kind: one of \(FindingKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.kind = value
            }
            if let status = request.queryParameter("status") {
                guard let value = ScanStatus(rawValue: status.uppercased()) else {
                    throw IngestError.invalidRequest("status: one of \(ScanStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.status = value
            }
            filter.after = request.queryParameter("after")
        } catch {
            return respond(writer, error: error)
        }
        let stores = filter.nodeID.map { [reader.store(router.placement(of: $0))] } ?? reader.placements
        let page = filter
        respondAsync(writer) { () throws(IngestError) in
            let items = try await Self.storage {
                var merged: [(id: String, json: String)] = []
                var full = false
                for store in stores {
                    let items = try await store.listScanItems(page)
                    if items.count == page.limit { full = true }
                    merged += items
                }
                merged.sort { Array($0.id.utf8).lexicographicallyPrecedes(Array($1.id.utf8)) }
                return (Array(merged.prefix(page.limit)), full || merged.count > page.limit)
            }
            let next = items.1 ? items.0.last.map { JSONText.quoted($0.id) } ?? "null" : "null"
            return .json(.ok, #"{"scans":[\#(items.0.map(\.json).joined(separator: ","))],"next":\#(next)}"#)
        }
    }

    /// The placements that may hold a scan: its node's, when the ID names one; else all.
    func stores(ofScan scanID: String) -> [PlacementStore] {
        ScanID.nodeID(of: scanID).map { [reader.store(router.placement(of: $0))] } ?? reader.placements
    }

    /// `GET /api/v1/scans/{id}`.
    func scanDetail(_ scanID: String, writer: ResponseWriter) {
        let stores = stores(ofScan: scanID)
        respondAsync(writer) { () throws(IngestError) in
            for store in stores {
                if let json = try await Self.storage({ try await store.scan(scanID) }) { return .json(.ok, json) }
            }
            throw IngestError.noSuch("scan")
        }
    }

    /// What a findings list or export asks for (its query string, checked).
    struct FindingsQuery: Sendable {
        var csv = false
        var kind: FindingKind?
        var severity: String?
        var after: (scanID: String, key: String)?
        var limit = 100

        /// The storage filter of the findings asked for, once their kind is known.
        func filter(kind: FindingKind, scanID: String?, nodeID: String?) -> PlacementStore.FindingFilter {
            var filter = PlacementStore.FindingFilter(kind: kind, scanID: scanID, nodeID: nodeID, severity: severity, limit: limit)
            filter.after = after
            return filter
        }
    }

    /// The query of `GET …/findings` (`paged`) or `GET …/findings/export`: `kind=<kind>` (required
    /// for a node's findings), `severity=<level>`, `format=json|csv`, `after=<cursor>`, and for a
    /// page `limit=N`.
    func findingsQuery(_ request: HTTPRequest, ofScan: Bool, paged: Bool) throws(IngestError) -> FindingsQuery {
        var query = FindingsQuery()
        switch request.queryParameter("format") {
        case nil, "json": query.csv = false
        case "csv": query.csv = true
        default: throw IngestError.invalidRequest("format: json or csv")
        }
        if paged {
            query.limit = try pageSize(request)
        } else {
            guard request.queryParameter("limit") == nil else { throw IngestError.invalidRequest("limit: an export has every finding; page with …/findings") }
            query.limit = configuration.maxPageSize
        }
        if let name = request.queryParameter("kind") {
            guard let value = FindingKind(rawValue: name) else {
                throw IngestError.invalidRequest("kind: one of \(FindingKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.kind = value
        } else if !ofScan {
            throw IngestError.invalidRequest("kind is required: one of \(FindingKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let cursor = request.queryParameter("after") {
            guard let decoded = Self.findingCursor(cursor) else { throw IngestError.invalidRequest("after: a cursor from a previous page") }
            query.after = decoded
        }
        query.severity = request.queryParameter("severity")?.lowercased()
        return query
    }

    /// The placement holding the findings asked for and their kind: the scan's (404 when no
    /// placement has it), or the node's with the kind its query names.
    func findingsSource(nodeID: String?, scanID: String?, query: FindingsQuery) async throws(IngestError) -> (PlacementStore, FindingKind) {
        guard let scanID else { return (reader.store(router.placement(of: nodeID ?? "")), query.kind!) }
        for store in stores(ofScan: scanID) {
            if let stored = try await Self.storage({ try await store.scanKind(scanID) }) { return (store, stored) }
        }
        throw IngestError.noSuch("scan")
    }

    /// `GET /api/v1/scans/{id}/findings` and `GET /api/v1/nodes/{id}/findings?kind=<kind>`, both
    /// with `severity=<level>&limit=N&after=<cursor>&format=json|csv`. JSON: `{"findings": […],
    /// "next": <cursor or null>}`; CSV: a header line, one line per finding, and the next page's
    /// cursor in the `x-next-cursor` header.
    func listFindings(nodeID: String?, scanID: String?, request: HTTPRequest, writer: ResponseWriter) {
        let query: FindingsQuery
        do throws(IngestError) {
            query = try findingsQuery(request, ofScan: scanID != nil, paged: true)
        } catch {
            return respond(writer, error: error)
        }
        respondAsync(writer) { () throws(IngestError) in
            let (store, kind) = try await self.findingsSource(nodeID: nodeID, scanID: scanID, query: query)
            let page = query.filter(kind: kind, scanID: scanID, nodeID: nodeID)
            let items = try await Self.storage { try await store.findingItems(page, csv: query.csv) }
            let next = items.count == query.limit ? items.last.map { Self.findingCursor(scanID: $0.scanID, key: $0.key) } : nil
            if query.csv {
                var response = HTTPResponse(
                    status: .ok, headers: ["content-type": "text/csv; charset=utf-8"],
                    body: ByteBuffer(string: ([kind.csvHeader] + items.map(\.text)).joined(separator: "\r\n") + "\r\n"))
                if let next { response.headers.add(name: "x-next-cursor", value: next) }
                return response
            }
            return .json(.ok, #"{"kind":"\#(kind.rawValue)","findings":[\#(items.map(\.text).joined(separator: ","))],"next":\#(next.map(JSONText.quoted) ?? "null")}"#)
        }
    }

    /// `GET /api/v1/scans/{id}/findings/export` and `GET /api/v1/nodes/{id}/findings/export?kind=<kind>`,
    /// with `severity`, `after` and `format` as for a page: every finding, streamed as the
    /// database gives them up, `--max-page-size` rows per query and one chunk per query, each
    /// written once the client has taken the one before (memory stays at a page however many
    /// findings there are). JSON: `{"kind", "findings": […], "count": N}`; CSV: the header line
    /// and a line per finding. An export that fails part-way (the database gone) is reset, so a
    /// cut export never passes for a whole one; errors before the first byte get their status.
    func exportFindings(nodeID: String?, scanID: String?, request: HTTPRequest, writer: ResponseWriter) {
        let query: FindingsQuery
        do throws(IngestError) {
            query = try findingsQuery(request, ofScan: scanID != nil, paged: false)
        } catch {
            return respond(writer, error: error)
        }
        let logger = self.logger
        Task {
            let store: PlacementStore
            var filter: PlacementStore.FindingFilter
            var items: [PlacementStore.FindingItem]
            do throws(IngestError) {
                let kind: FindingKind
                (store, kind) = try await findingsSource(nodeID: nodeID, scanID: scanID, query: query)
                filter = query.filter(kind: kind, scanID: scanID, nodeID: nodeID)
                let first = filter
                items = try await Self.storage { try await store.findingItems(first, csv: query.csv) }
            } catch {
                return self.respond(writer, error: error)
            }
            let body = writer.stream(HTTPResponse(status: .ok, headers: [
                "content-type": query.csv ? "text/csv; charset=utf-8" : "application/json",
                "content-disposition": #"attachment; filename="\#(filter.kind.rawValue)-findings.\#(query.csv ? "csv" : "json")""#,
            ]))
            var count = 0
            do {
                var text = query.csv ? filter.kind.csvHeader + "\r\n" : #"{"kind":"\#(filter.kind.rawValue)","findings":["#
                while true {
                    for item in items {
                        if !query.csv && count > 0 { text += "," }
                        text += item.text
                        if query.csv { text += "\r\n" }
                        count += 1
                    }
                    guard items.count == filter.limit, let last = items.last else { break }
                    try await body.write(ByteBuffer(string: text))
                    text = ""
                    filter.after = (last.scanID, last.key)
                    let next = filter
                    items = try await Self.storage { try await store.findingItems(next, csv: query.csv) }
                }
                if !query.csv { text += #"],"count":\#(count)}"# }
                try await body.write(ByteBuffer(string: text))
                body.finish()
            } catch {
                logger.warning("findings export cut", metadata: ["sent": "\(count)", "error": "\(error)"])
                body.abort()
            }
        }
    }

    /// The cursor after a finding: base64url of its scan ID, a zero byte, and its key.
    static func findingCursor(scanID: String, key: String) -> String {
        Data((scanID + "\u{0}" + key).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func findingCursor(_ text: String) -> (scanID: String, key: String)? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8),
            let zero = decoded.firstIndex(of: "\u{0}")
        else { return nil }
        return (String(decoded[..<zero]), String(decoded[decoded.index(after: zero)...]))
    }

    /// `GET /api/v1/nodes/{id}/findings/counts`: the node's latest scan of each kind with its
    /// counts by severity (compliance: by status).
    func findingCounts(_ nodeID: String, writer: ResponseWriter) {
        let store = reader.store(router.placement(of: nodeID))
        respondAsync(writer) { () throws(IngestError) in
            let latest = try await Self.storage { try await store.findingCounts(of: nodeID) }
            return .json(.ok, #"{"node_id":\#(JSONText.quoted(nodeID)),"latest":\#(latest)}"#)
        }
    }
}
