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

    /// `GET /api/v1/scans/{id}/findings` and `GET /api/v1/nodes/{id}/findings?kind=<kind>`, both
    /// with `severity=<level>&limit=N&after=<cursor>&format=json|csv`. JSON: `{"findings": […],
    /// "next": <cursor or null>}`; CSV: a header line, one line per finding, and the next page's
    /// cursor in the `x-next-cursor` header.
    func listFindings(nodeID: String?, scanID: String?, request: HTTPRequest, writer: ResponseWriter) {
        let csv: Bool
        let limit: Int
        var kind: FindingKind?
        var after: (scanID: String, key: String)?
        do throws(IngestError) {
            switch request.queryParameter("format") {
            case nil, "json": csv = false
            case "csv": csv = true
            default: throw IngestError.invalidRequest("format: json or csv")
            }
            limit = try pageSize(request)
            if let name = request.queryParameter("kind") {
                guard let value = FindingKind(rawValue: name) else {
                    throw IngestError.invalidRequest("kind: one of \(FindingKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kind = value
            } else if scanID == nil {
                throw IngestError.invalidRequest("kind is required: one of \(FindingKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let cursor = request.queryParameter("after") {
                guard let decoded = Self.findingCursor(cursor) else { throw IngestError.invalidRequest("after: a cursor from a previous page") }
                after = decoded
            }
        } catch {
            return respond(writer, error: error)
        }
        let severity = request.queryParameter("severity")?.lowercased()
        let candidates = scanID.map { self.stores(ofScan: $0) } ?? [reader.store(router.placement(of: nodeID ?? ""))]
        let given = kind
        let start = after
        respondAsync(writer) { () throws(IngestError) in
            var found: (store: PlacementStore, kind: FindingKind)?
            if let scanID {
                for store in candidates {
                    if let stored = try await Self.storage({ try await store.scanKind(scanID) }) {
                        found = (store, stored)
                        break
                    }
                }
                guard found != nil else { throw IngestError.noSuch("scan") }
            } else {
                found = (candidates[0], given!)
            }
            let (store, kind) = found!
            var filter = PlacementStore.FindingFilter(kind: kind, scanID: scanID, nodeID: nodeID, severity: severity, limit: limit)
            filter.after = start
            let page = filter
            let items = try await Self.storage { try await store.findingItems(page, csv: csv) }
            let next = items.count == limit ? items.last.map { Self.findingCursor(scanID: $0.scanID, key: $0.key) } : nil
            if csv {
                var response = HTTPResponse(
                    status: .ok, headers: ["content-type": "text/csv; charset=utf-8"],
                    body: ByteBuffer(string: ([kind.csvHeader] + items.map(\.text)).joined(separator: "\r\n") + "\r\n"))
                if let next { response.headers.add(name: "x-next-cursor", value: next) }
                return response
            }
            return .json(.ok, #"{"kind":"\#(kind.rawValue)","findings":[\#(items.map(\.text).joined(separator: ","))],"next":\#(next.map(JSONText.quoted) ?? "null")}"#)
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
