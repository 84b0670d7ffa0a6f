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
        let payload: String?
        do throws(IngestError) {
            let object = try jsonObject(request.body)
            let startable = FindingKind.allCases.filter { $0.startAction != nil }
            guard let name = object["kind"]?.string, let named = FindingKind(rawValue: name), let start = named.startAction else {
                throw IngestError.invalidRequest("kind: one of \(startable.map(\.rawValue).joined(separator: ", "))")
            }
            kind = named
            payload = try Self.payloadText(object["request_payload"], action: start, nodeID: nodeID)
        } catch {
            return respond(writer, error: error)
        }
        queueScan(nodeID, kind: kind, payload: payload, writer: writer)
    }

    /// Queues the scan through the operator service (409 while one of its kind has not ended).
    func queueScan(_ nodeID: String, kind: FindingKind, payload: String?, writer: ResponseWriter) {
        let operations = self.operations
        respondAsync(writer) { () throws(IngestError) in
            .json(.created, try await operations.queueScan(nodeID, kind: kind, payload: payload).json)
        }
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
        let operations = self.operations
        let page = filter
        respondAsync(writer) { () throws(IngestError) in
            let scans = try await operations.scans(page)
            return .json(.ok, #"{"scans":\#(scans.json),"next":\#(scans.next.map(JSONText.quoted) ?? "null")}"#)
        }
    }

    /// `GET /api/v1/scans/{id}`.
    func scanDetail(_ scanID: String, writer: ResponseWriter) {
        let operations = self.operations
        respondAsync(writer) { () throws(IngestError) in .json(.ok, try await operations.scan(scanID)) }
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
            guard let decoded = FindingCursor.parse(cursor) else { throw IngestError.invalidRequest("after: a cursor from a previous page") }
            query.after = decoded
        }
        query.severity = request.queryParameter("severity")?.lowercased()
        return query
    }

    /// The placement holding the findings asked for and their kind: the scan's (404 when no
    /// placement has it), or the node's with the kind its query names.
    func findingsSource(nodeID: String?, scanID: String?, query: FindingsQuery) async throws(IngestError) -> (PlacementStore, FindingKind) {
        guard let scanID else { return (operations.store(of: nodeID ?? ""), query.kind!) }
        return try await operations.findingsSource(ofScan: scanID)
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
            let items = try await OperatorService.storage { try await store.findingItems(page, csv: query.csv) }
            let next = items.count == query.limit ? items.last.map { FindingCursor.text(scanID: $0.scanID, key: $0.key) } : nil
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
                items = try await OperatorService.storage { try await store.findingItems(first, csv: query.csv) }
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
                    items = try await OperatorService.storage { try await store.findingItems(next, csv: query.csv) }
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

    /// `GET /api/v1/nodes/{id}/findings/counts`: the node's latest scan of each kind with its
    /// counts by severity (compliance: by status).
    func findingCounts(_ nodeID: String, writer: ResponseWriter) {
        let store = operations.store(of: nodeID)
        respondAsync(writer) { () throws(IngestError) in
            let latest = try await OperatorService.storage { try await store.findingCounts(of: nodeID) }
            return .json(.ok, #"{"node_id":\#(JSONText.quoted(nodeID)),"latest":\#(latest)}"#)
        }
    }
}
