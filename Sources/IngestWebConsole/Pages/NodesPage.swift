import IngestCore
import IngestStorage
import IngestTransport

/// Every node, 100 to a page in node ID order (keyset pages: as fast on the thousandth page as on
/// the first), filtered by kind and liveness, searched by ID prefix, with the totals.
extension WebConsole {
    static let nodesPageSize = 100

    func nodes(_ request: HTTPRequest, _ session: Session) async throws(IngestError) -> (title: String, body: HTML) {
        var filter = PlacementStore.NodeFilter(limit: Self.nodesPageSize)
        let kind = request.queryParameter("kind").flatMap { $0.isEmpty ? nil : $0 }
        let status = request.queryParameter("status").flatMap { $0.isEmpty || $0 == "all" ? nil : $0 }
        let search = request.queryParameter("q").flatMap { $0.isEmpty ? nil : $0 }
        if let kind {
            guard let value = NodeKind(rawValue: kind) else { throw IngestError.invalidRequest("kind: host or kubernetes_cluster") }
            filter.kind = value
        }
        switch status {
        case nil: break
        case "online": filter.online = true
        case "offline": filter.online = false
        default: throw IngestError.invalidRequest("status: online, offline or all")
        }
        filter.prefix = search
        filter.after = request.queryParameter("after").flatMap { $0.isEmpty ? nil : $0 }
        let page = try await operations.nodes(filter)
        let counts = try await operations.nodeCounts()
        let total = counts.filter { (filter.kind == nil || $0.kind == filter.kind!.rawValue) && (filter.online == nil || $0.online == filter.online!) }
            .reduce(0) { $0 + $1.count }
        let rows: [HTML] = page.items.map { item in
            let node = JSONTree(parsing: item.json)
            return """
                <tr><td>\(Layout.nodeLink(node["id"].text))</td><td>\(Self.kindName(node["kind"].text))</td>
                <td>\(Layout.liveness(node["online"].bool))</td><td>\(Layout.time(node["last_seen"].string))</td>
                <td>\(Layout.time(node["first_seen"].string))</td><td>\(node["shard"].int ?? 0)</td></tr>
                """
        }
        let base = ConsolePath("nodes")
        let query: [(String, String?)] = [("kind", kind), ("status", status), ("q", search)]
        let next: HTML = page.next.map { "<a class=\"button\" id=\"next-page\" href=\"\(base.query(query + [("after", $0)]))\">Next \(Self.nodesPageSize) →</a>" } ?? ""
        let first: HTML = filter.after == nil ? "" : "<a class=\"button\" href=\"\(base.query(query))\">← First page</a>"
        let totalLine: HTML = search == nil
            ? "<p id=\"node-total\">\(Layout.count(total)) nodes\(filter.after.map { " · after \($0)" } ?? "")</p>"
            : "<p id=\"node-total\">Nodes whose ID (or cluster name) starts with “\(search!)” (of \(Layout.count(total)))</p>"
        let body: HTML = """
            <h1>Nodes</h1>
            <form method="get" action="/console/nodes" class="filters">
            <label>Kind <select name="kind">\(Layout.options([("", "all"), ("host", "hosts"), ("kubernetes_cluster", "Kubernetes clusters")], selected: kind))</select></label>
            <label>Status <select name="status">\(Layout.options([("", "all"), ("online", "online"), ("offline", "offline")], selected: status))</select></label>
            <label>ID or cluster name starts with <input type="search" name="q" id="search" value="\(search)" spellcheck="false"></label>
            <button type="submit" id="filter">Show</button></form>
            \(totalLine)
            <table id="nodes"><thead><tr><th>Node</th><th>Kind</th><th>Status</th><th>Last seen</th><th>First seen</th><th>Shard</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(rows.isEmpty ? "<p class=\"muted\">No node matches.</p>" as HTML : "")
            <p class="pager">\(first) \(next)</p>
            """
        return ("Nodes", body)
    }
}
