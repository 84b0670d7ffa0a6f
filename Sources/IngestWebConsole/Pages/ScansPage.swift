import Foundation
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport

/// Scans, filtered by node, kind and status; a scan with its findings paged by severity and its
/// exports.
extension WebConsole {
    func scans(_ request: HTTPRequest, _ session: Session) async throws(IngestError) -> (title: String, body: HTML) {
        var filter = PlacementStore.ScanFilter(limit: 100)
        let node = request.queryParameter("node").flatMap { $0.isEmpty ? nil : $0 }
        let kind = request.queryParameter("kind").flatMap { $0.isEmpty ? nil : $0 }
        let status = request.queryParameter("status").flatMap { $0.isEmpty ? nil : $0 }
        filter.nodeID = node
        if let kind {
            guard let value = FindingKind(rawValue: kind) else { throw IngestError.invalidRequest("kind: a kind of scan") }
            filter.kind = value
        }
        if let status {
            guard let value = ScanStatus(rawValue: status) else { throw IngestError.invalidRequest("status: a scan status") }
            filter.status = value
        }
        filter.after = request.queryParameter("after").flatMap { $0.isEmpty ? nil : $0 }
        let page = try await operations.scans(filter)
        let query: [(String, String?)] = [("node", node), ("kind", kind), ("status", status)]
        let next: HTML = page.next.map { "<a class=\"button\" id=\"next-page\" href=\"\(ConsolePath("scans").query(query + [("after", $0)]))\">Next 100 →</a>" } ?? ""
        let body: HTML = """
            <h1>Scans</h1>
            <form method="get" action="/console/scans" class="filters">
            <label>Node <input type="search" name="node" value="\(node)" spellcheck="false"></label>
            <label>Kind <select name="kind">\(Layout.options([("", "all")] + FindingKind.allCases.map { ($0.rawValue, $0.rawValue) }, selected: kind))</select></label>
            <label>Status <select name="status">\(Layout.options([("", "all")] + ScanStatus.allCases.map { ($0.rawValue, $0.rawValue) }, selected: status))</select></label>
            <button type="submit">Show</button></form>
            \(Self.scanTable(page.items.map { JSONTree(parsing: $0.json) }))
            <p class="pager">\(next)</p>
            """
        return ("Scans", body)
    }

    func scan(_ request: HTTPRequest, _ session: Session) async throws(IngestError) -> (title: String, body: HTML) {
        guard let scanID = request.queryParameter("id"), !scanID.isEmpty, !scanID.contains("\0") else {
            throw IngestError.invalidRequest("id: the scan's ID")
        }
        let severity = request.queryParameter("severity").flatMap { $0.isEmpty || $0.contains("\0") ? nil : $0 }
        let after = request.queryParameter("after").flatMap(FindingCursor.parse)
        let scan = JSONTree(parsing: try await operations.scan(scanID))
        let page = try await operations.findings(ofScan: scanID, severity: severity, after: after, limit: 100)
        let grades = scan["counts"].members
        let gradeLinks: [HTML] = [("all", nil as String?)].map { label, value in
            "<a href=\"\(ConsolePath("scan").query([("id", scanID)]))\"\(severity == nil ? " class=\"current\"" as HTML : "")>\(label)</a>" as HTML
        } + grades.map { grade, count in
            "<a href=\"\(ConsolePath("scan").query([("id", scanID), ("severity", grade)]))\"\(severity == grade ? " class=\"current\"" as HTML : "")>\(grade) (\(count.int ?? 0))</a>"
        }
        let rows: [HTML] = page.items.map { item in
            let finding = JSONTree(parsing: item.text)
            let body = finding["finding"]
            let title = Self.findingTitle(body)
            return "<tr><td>\(finding["severity"].text)</td><td class=\"cmdline\">\(title)</td><td class=\"cmdline\">\(finding["key"].text)</td></tr>"
        }
        let next: HTML = page.items.count == 100 ? page.items.last.map { last in
            "<a class=\"button\" href=\"\(ConsolePath("scan").query([("id", scanID), ("severity", severity), ("after", FindingCursor.text(scanID: last.scanID, key: last.key))]))\">Next 100 →</a>"
        } ?? "" : ""
        let export = { (format: String) -> ConsolePath in
            var path = ConsolePath("api", "v1", "scans", scanID, "findings", "export")
            path = path.query([("format", format), ("severity", severity)])
            return path
        }
        let body: HTML = """
            <h1>Scan \(scanID)</h1>
            <p>\(scan["kind"].text) scan of \(Layout.nodeLink(scan["node_id"].text)) · <strong id="scan-status">\(scan["status"].text)</strong>
            \(scan["message"].string.map { " · \($0)" } ?? "") · \(scan["findings"].int ?? 0) findings · created \(Layout.time(scan["created_at"].string))
            · finished \(Layout.time(scan["finished_at"].string))</p>
            <p>Export: <a href="\(export("json"))" id="export-json">JSON</a> · <a href="\(export("csv"))" id="export-csv">CSV</a></p>
            <p class="grades">\(gradeLinks)</p>
            \(rows.isEmpty ? "<p class=\"muted\">No findings\(severity == nil ? "" : " of that grade").</p>" as HTML
              : "<table id=\"findings\"><thead><tr><th>Grade</th><th>Finding</th><th>Key</th></tr></thead><tbody>\(rows)</tbody></table>")
            <p class="pager">\(next)</p>
            """
        return ("Scan", body)
    }

    /// A finding's one-line title, from whichever of the kinds' usual fields it has.
    static func findingTitle(_ finding: JSONTree) -> String {
        for field in ["cve_id", "title", "rule_name", "RuleName", "description", "control_id", "full_filename"] {
            if let text = finding[field].string, !text.isEmpty { return text }
        }
        let rule = finding["Rule"]["name"].string ?? finding["rule"]["name"].string
        return rule ?? String(finding.text.prefix(160))
    }
}
